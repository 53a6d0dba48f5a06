from censorwatch.cli.main import main

main()

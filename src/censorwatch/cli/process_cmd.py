"""Registers its command on censorwatch.cli.apps (being written)."""

"""Our own measurements: Web Connectivity on real sockets (asyncio), written in OONI's format."""

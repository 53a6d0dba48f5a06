"""Network services: the test helper and the collector."""

"""Readers for what others measured and published: OONI files and API, test lists, registers."""

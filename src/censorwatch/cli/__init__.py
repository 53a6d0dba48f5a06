"""Command line: parses options and wires the layers together; behaviour lives below."""

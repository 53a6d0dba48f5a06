"""censorwatch: an open observatory of internet censorship."""

__version__ = "0.1.0"

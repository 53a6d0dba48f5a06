"""censorwatch: an open observatory of internet censorship."""

from censorwatch.compiled import guard_compiled_modules

__version__ = "0.1.0"

# Before any module that may be compiled is imported (compiled.py).
COMPILED_STATE = guard_compiled_modules()

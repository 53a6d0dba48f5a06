"""Analysis: one verdict per measurement, from rules written down in docs/verdicts.md."""

from censorwatch.analysis.dispatch import analyse

__all__ = ["analyse"]

"""The shared vocabulary: OONI measurements, failure strings and verdicts."""

from censorwatch.model.verdict import ANALYZER_VERSION, BLOCKING_TYPES, VERDICTS, Verdict

__all__ = ["ANALYZER_VERSION", "BLOCKING_TYPES", "VERDICTS", "Verdict"]

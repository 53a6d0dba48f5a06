"""Blocking events: onset and end of blocking per series (target, probe_cc, probe_asn, layer)
from stored verdicts, and country-wide events (docs/events.md)."""

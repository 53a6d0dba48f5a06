"""All layers of one (target, probe_cc, probe_asn): routes each stored verdict to the layers'
detectors, counts what it could not use, and serialises the lot for the store.

A layer gets a detector at its first anomaly; until then every scored measurement of the group
counted 0 for it, which LayerState.after_quiet reproduces, so a layer created late is in the state
it would be in had it been followed from the start (an incremental run equals a full one)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from censorwatch.analysis.events.detector import Event, LayerDetector, LayerState, Params
from censorwatch.model.verdict import BLOCKING_TYPES

# The layer of an anomaly whose verdict names none (some app tests: psiphon, torsf, Telegram Web).
UNKNOWN_LAYER = "unknown"
LAYERS = frozenset((*BLOCKING_TYPES, UNKNOWN_LAYER))


@dataclass
class Tally:
    """What a run read and could not use as evidence: reported by `events detect`."""

    rows: int = 0
    scored: int = 0
    failures: int = 0
    not_analysed: int = 0
    unknown_verdict: int = 0
    unknown_layer: int = 0

    def add(self, other: Tally) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class GroupState:
    scored: int = 0
    last_t: int | None = None
    seen: int = 0  # measurements stored up to `through` (any verdict): with digest, finds late arrivals
    digest: int = 0
    through: int | None = None
    layers: dict[str, dict[str, Any]] = field(default_factory=dict)


class SeriesGroup:
    """The detectors of one (target, probe_cc, probe_asn)."""

    __slots__ = ("asn", "cc", "detectors", "params", "state", "tally", "target")

    def __init__(self, params: Params, target: str, cc: str, asn: str, state: GroupState | None = None) -> None:
        self.params = params
        self.target, self.cc, self.asn = target, cc, asn
        self.state = state or GroupState()
        self.detectors: dict[str, LayerDetector] = {
            layer: LayerDetector(params, LayerState.from_dict(data), (target, cc, asn, layer))
            for layer, data in sorted(self.state.layers.items())
        }
        self.tally = Tally()

    def add(self, t: int, verdict: str | None, blocking: str | None, uid: str | None, digest: int = 0) -> None:
        """One stored measurement, in time order. `digest` is the row's hash (store side)."""
        st = self.state
        st.seen += 1
        st.digest ^= digest
        st.through = t
        self.tally.rows += 1
        if verdict == "ok":
            layer = None
        elif verdict in ("anomaly", "confirmed"):
            layer = blocking if blocking is not None else UNKNOWN_LAYER
            if layer not in LAYERS:
                self.tally.unknown_layer += 1
                return
        elif verdict == "failure":
            self.tally.failures += 1  # no evidence either way
            return
        elif verdict is None:
            self.tally.not_analysed += 1
            return
        else:
            self.tally.unknown_verdict += 1
            return
        if layer is not None and layer not in self.detectors:
            fresh = LayerState.after_quiet(self.params, st.scored, st.last_t)
            self.detectors[layer] = LayerDetector(self.params, fresh, (self.target, self.cc, self.asn, layer))
        confirmed = verdict == "confirmed"
        for name, detector in self.detectors.items():
            hit = name == layer
            detector.observe(t, 1 if hit else 0, uid if hit else None, confirmed and hit)
        st.scored += 1
        st.last_t = t
        self.tally.scored += 1

    def closed_events(self) -> list[Event]:
        return [event for detector in self.detectors.values() for event in detector.closed]

    def ongoing_events(self) -> list[Event]:
        return [event for detector in self.detectors.values() if (event := detector.ongoing()) is not None]

    def events(self) -> list[Event]:
        """The events this group closed since it was loaded, and the ones still open."""
        return self.closed_events() + self.ongoing_events()

    def saved(self) -> GroupState:
        self.state.layers = {layer: detector.s.as_dict() for layer, detector in self.detectors.items()}
        return self.state


def detect_series(
    params: Params, key: tuple[str, str, str], rows: list[tuple[int, str | None, str | None, str | None]]
) -> list[Event]:
    """Every event of one group from its rows (t, verdict, blocking, uid) in time order: what the
    store-backed run computes, for tests and the evaluation harness."""
    group = SeriesGroup(params, *key)
    for t, verdict, blocking, uid in rows:
        group.add(t, verdict, blocking, uid)
    return group.events()

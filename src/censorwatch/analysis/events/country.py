"""Country-wide events: networks of one country whose blocking of a target (same layer) starts
together make one event with probe_asn None, besides their own.

"Together" is within `window_h` hours of the first onset of the cluster (48 h: a national order
reaches ISPs within a day or two, EVENTS-NOTES.md); it takes `min_networks` networks. The country
event starts at the earliest member onset, ends when its last member ends (None while any is
ongoing), and keeps the evidence of the members that opened and closed it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from censorwatch.analysis.events.detector import HOUR_US, Event


@dataclass(frozen=True)
class CountryParams:
    window_h: float = 48.0
    min_networks: int = 2


def country_events(network_events: Iterable[Event], params: CountryParams = CountryParams()) -> Iterator[Event]:
    """Country-wide events from the network events of one (target, probe_cc, layer), given in
    order of start."""
    cluster: list[Event] = []
    for event in network_events:
        if cluster and event.start - cluster[0].start > params.window_h * HOUR_US:
            yield from _country(cluster, params)
            cluster = []
        cluster.append(event)
    yield from _country(cluster, params)


def _country(cluster: list[Event], params: CountryParams) -> Iterator[Event]:
    # One network counted once: a network that blocked, unblocked and blocked again within the
    # window is not two networks.
    networks = sorted({event.probe_asn for event in cluster if event.probe_asn is not None})
    if len(networks) < params.min_networks:
        return
    first = min(cluster, key=lambda event: (event.start, event.probe_asn or ""))
    ends = [event.end for event in cluster]
    end = None if any(value is None for value in ends) else max(value for value in ends if value is not None)
    last = max(cluster, key=lambda event: (event.end or 0, event.probe_asn or ""))
    yield Event(
        target=first.target, probe_cc=first.probe_cc, probe_asn=None, blocking=first.blocking,
        start=first.start, end=end, start_observed=all(event.start_observed for event in cluster),
        confidence=max(event.confidence for event in cluster),
        before_measurements=sum(event.before_measurements for event in cluster),
        before_anomalous=sum(event.before_anomalous for event in cluster),
        measurements=sum(event.measurements for event in cluster),
        anomalous=sum(event.anomalous for event in cluster),
        confirmed=sum(event.confirmed for event in cluster),
        first_uid=first.first_uid, last_uid=last.last_uid,
        detected=sorted(event.detected for event in cluster)[params.min_networks - 1],
        networks=networks,
    )

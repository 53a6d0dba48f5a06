"""The censor emulator on loopback (contracts.md, "Lab"; DESIGN.md, "Lab").

Censorship is decided by the client's source address: DNS queries and connections from the censored source
(default 127.0.0.2) are interfered with; everyone else (the test helper, on 127.0.0.1) sees the honest network.
Every lab name is `<case>.lab.censorwatch.test`, every answer is a 127.0.0.0/8 address, and URLs carry the
ephemeral port of the case's server, so nothing needs root except the two iptables cases.

How each blocking type is produced, and why it maps to the expected verdict:

- dns-blockpage: the resolver answers 127.0.0.3 (the blockpage server, same port) -> inconsistent DNS, and the
  body carries OONI's RU fingerprint "ooni.ru_0" -> confirmed / dns with --probe-cc RU.
- dns-nxdomain, dns-forged (127.0.0.66, a reserved port where nothing listens) -> anomaly / dns.
- tcp-drop (iptables DROP of the censored source's SYNs: connect times out) and tcp-reject (iptables REJECT with a
  TCP reset: connection_refused) -> anomaly / tcp_ip. Both need root and iptables, in a chain of the lab's own
  (CWLAB-<pid>), removed on stop and at exit. Without root there is no per-source refusal: a user-space server
  cannot refuse a SYN by source, so the no-root variant tcp-reset-after-accept accepts then resets (SO_LINGER 0)
  before any byte; since the TCP connect succeeded, OONI's "first failing layer" rule gives http-failure.
- tls-sni-reset (the server peeks at the ClientHello with MSG_PEEK and RSTs a blocked SNI) and tls-mitm
  (a certificate from a CA the probe does not trust) -> anomaly / tls.
- http-blockpage (injected blockpage with the RU fingerprint) -> confirmed / http-diff;
  http-host-reset (RST after reading a blocked Host header) -> anomaly / http-failure.
- site-down (resolves, a reserved port: refused for everyone) -> ok ("website down"); dynamic (random tokens,
  a slightly different length, same title) -> ok; huge-body (never ends; both sides cap it) -> ok.
- Blockpages no fingerprint knows (issue #21; docs/verdicts.md R22): dns-blockpage-lookalike (DNS to a server that
  copies the origin's headers, status 200, a 398-FZ notice) -> anomaly / dns; http-legal-notice (an injected
  149-FZ notice with the origin's header names and status 200) -> anomaly / http-diff. OONI's v0.4 keys call both
  accessible (blocking false). And two pages that differ but are no censorship: news-about-blocking (an article
  about blocking, same title, a longer comment thread for the censored source) and ab-variant (an A/B test puts
  the censored source in arm B) -> ok.
"""

from censorwatch.lab.cases import LabCase
from censorwatch.lab.lab import Lab, LabError

__all__ = ["Lab", "LabCase", "LabError"]

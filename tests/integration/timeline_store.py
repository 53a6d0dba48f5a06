"""A store for the timeline, events and register-latency tests of the web app, filled through the
real commands: OONI measurements written as JSONL and read by `censorwatch ingest ooni`, events
found by `censorwatch events detect`, three register snapshots by `ingest registry-ru`, documents
by `archive add` and a request by `archive request add`.

What it holds (all times UTC, 4 measurements a day of https://news.example/ from 2024-02-10 to
2024-03-20 per network):
* RU AS1 blocks it by DNS from 2024-03-01 on (ongoing); RU AS2 from 2024-03-02 to 2024-03-11;
  IR AS3 never. The detector finds both network events and a country-wide one for RU.
* The register lists news.example from the snapshot of 2024-02-29 and drops it in 2024-03-14's.
* A public document dated 2024-03-02 names it (its title carries a private e-mail address, which
  public views mask); a private collection's document names it too (never shown publicly).
* A request of 2024-02 (known to the month) asks to block a page on news.example."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from censorwatch.cli.main import app
from censorwatch.web import demo

TARGET = "news.example"
URL = "https://news.example/"
FIRST_DAY, LAST_DAY = date(2024, 2, 10), date(2024, 3, 20)
# network -> (country, first blocked day, last blocked day or None)
NETWORKS = {"AS1": ("RU", date(2024, 3, 1), None), "AS2": ("RU", date(2024, 3, 2), date(2024, 3, 11)),
            "AS3": ("IR", None, None)}
PRIVATE_MAIL = "ivan.petrov@mail.example"
SNAPSHOTS = (
    ("2024-02-15", ["1.1.1.1;other.example;;суд;1/2024;2024-02-01"]),
    ("2024-02-29", ["1.1.1.1;other.example;;суд;1/2024;2024-02-01",
                    "5.5.5.5;news.example;;Генпрокуратура;27-31-2024/Ид1;2024-02-28"]),
    ("2024-03-14", ["1.1.1.1;other.example;;суд;1/2024;2024-02-01"]),
)
DOCUMENT = f"""<html><head><title>Order on news.example ({PRIVATE_MAIL})</title>
<meta name="date" content="2024-03-02"></head><body><p>The prosecutor ordered the site news.example
blocked, in particular https://news.example/politics/ and its mirrors.</p></body></html>"""
PRIVATE_DOCUMENT = """<html><head><title>Leaked list</title><meta name="date" content="2024-03-05"></head>
<body><p>Internal list: https://news.example/ and https://other.example/.</p></body></html>"""


def invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return result.stdout


def _measurements() -> list[dict[str, object]]:
    out = []
    for asn, (cc, blocked_from, blocked_to) in NETWORKS.items():
        day = FIRST_DAY
        while day <= LAST_DAY:
            blocked = blocked_from is not None and blocked_from <= day and (blocked_to is None or day <= blocked_to)
            for slot in range(4):
                when = datetime(day.year, day.month, day.day, 1 + slot * 6, int(asn[2:]), tzinfo=UTC)
                out.append(demo.web_measurement(URL, cc, asn, f"Network {asn}", when,
                                                "dns_forged" if blocked else "ok"))
            day += timedelta(days=1)
    return out


def build(folder: Path) -> Path:
    db = folder / "store.duckdb"
    jsonl = folder / "measurements.jsonl"
    jsonl.write_text("".join(json.dumps(m) + "\n" for m in _measurements()), encoding="utf-8")
    invoke("ingest", "ooni", str(jsonl), "--db", str(db))
    invoke("events", "detect", "--db", str(db))
    for day, lines in SNAPSHOTS:
        dump = folder / f"dump-{day}.csv"
        dump.write_bytes(("\n".join([f"Updated: {day} 06:00:00 +0000", *lines]) + "\n").encode("cp1251"))
        invoke("ingest", "registry-ru", str(dump), "--db", str(db))
    public, private = folder / "public", folder / "private"
    public.mkdir()
    private.mkdir()
    (public / "order.html").write_text(DOCUMENT, encoding="utf-8")
    (private / "leak.html").write_text(PRIVATE_DOCUMENT, encoding="utf-8")
    invoke("archive", "add", str(public), "--collection", "press", "--workers", "1", "--db", str(db))
    invoke("archive", "add", str(private), "--collection", "leaks", "--private", "--workers", "1", "--db", str(db))
    invoke("archive", "request", "add", "--requester", "Генпрокуратура", "--recipient", "Roskomnadzor",
           "--date", "2024-02", "--target", "https://news.example/politics/", "--id", "req-news", "--db", str(db))
    invoke("archive", "request", "add", "--requester", "Someone", "--recipient", "Roskomnadzor",
           "--date", "2024-03-01", "--target", "unrelated.example", "--id", "req-other", "--db", str(db))
    return db

"""Convert OONI's BSD-3 fingerprint copy (ooni/backend fastpath tests/data) into censorwatch's own
data file src/censorwatch/data/fingerprints.json. Run by hand when the upstream copy changes:

    .venv/bin/python tools/convert_fingerprints.py ../shared/data/fingerprints/ooni_backend_fastpath_copy
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "src" / "censorwatch" / "data" / "fingerprints.json"


def convert(entry: dict[str, Any]) -> dict[str, Any]:
    countries = [c.strip().upper() for c in str(entry.get("expected_countries") or "").split(",") if c.strip()]
    return {
        "name": entry["name"],
        "scope": entry["scope"],
        "location": entry["location_found"],
        "pattern_type": entry["pattern_type"],
        "pattern": entry["pattern"],
        "expected_countries": countries,
    }


def main(source: Path) -> None:
    dns = [convert(e) for e in json.loads((source / "fingerprints_dns.json").read_text("utf-8"))]
    http = [convert(e) for e in json.loads((source / "fingerprints_http.json").read_text("utf-8"))]
    document = {
        "source": "ooni/backend fastpath/fastpath/tests/data/fingerprints_{dns,http}.json @ 32d8349 (BSD-3-Clause)",
        "dns": dns,
        "http": http,
    }
    OUT.write_text(json.dumps(document, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {len(dns)} DNS and {len(http)} HTTP fingerprints to {OUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))

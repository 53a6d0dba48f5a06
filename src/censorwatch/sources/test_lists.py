"""Citizen Lab test lists (github.com/citizenlab/test-lists): CSV with the header
url,category_code,category_description,date_added,source,notes; quoted fields may span lines."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


class TestListError(ValueError):
    """The file is not a test list we can read (missing, undecodable, no url column)."""

    __test__ = False  # not a pytest class, despite the name


@dataclass(frozen=True)
class TestListEntry:
    __test__ = False

    url: str
    category_code: str
    line: int


def is_probeable_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def read_test_list(path: Path) -> Iterator[TestListEntry]:
    """Streams entries; rows whose url is not an http(s) URL are skipped (counted by the caller
    through `skipped_rows`)."""
    try:
        handle = path.open(encoding="utf-8", newline="")
    except OSError as error:
        raise TestListError(f"cannot read test list {path}: {error.strerror or error}") from error
    with handle:
        try:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or "url" not in reader.fieldnames:
                raise TestListError(f"{path} is not a Citizen Lab test list: no 'url' column in the header")
            for row in reader:
                url = (row.get("url") or "").strip()
                yield TestListEntry(url, (row.get("category_code") or "").strip(), reader.line_num)
        except UnicodeDecodeError as error:
            raise TestListError(f"{path} is not UTF-8 text: {error}") from error
        except csv.Error as error:
            raise TestListError(f"{path}: malformed CSV near line {reader.line_num}: {error}") from error

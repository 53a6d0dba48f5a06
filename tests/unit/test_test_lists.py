from __future__ import annotations

from pathlib import Path

import pytest

from censorwatch.sources.test_lists import TestListError, is_probeable_url, read_test_list

HEADER = "url,category_code,category_description,date_added,source,notes\n"


def test_reads_rows_with_quoted_fields_spanning_lines(tmp_path: Path) -> None:
    path = tmp_path / "ru.csv"
    path.write_text(
        HEADER
        + 'https://a.example/,NEWS,News,2020-01-01,x,"a note\nover two lines"\n'
        + "http://b.example/path?q=1,HUMR,Human Rights,2020-01-01,,\n",
        encoding="utf-8",
    )
    entries = list(read_test_list(path))
    assert [e.url for e in entries] == ["https://a.example/", "http://b.example/path?q=1"]
    assert entries[0].category_code == "NEWS"


def test_rejects_files_that_are_not_test_lists(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(TestListError, match="no 'url' column"):
        list(read_test_list(path))
    with pytest.raises(TestListError, match="cannot read"):
        list(read_test_list(tmp_path / "missing.csv"))
    binary = tmp_path / "bin.csv"
    binary.write_bytes(HEADER.encode() + b"\xff\xfe\xfa,NEWS\n")
    with pytest.raises(TestListError, match="not UTF-8"):
        list(read_test_list(binary))


@pytest.mark.parametrize(
    ("url", "ok"),
    [("https://example.org/", True), ("http://a.b", True), ("ftp://x.org/", False), ("example.org", False),
     ("http://", False), ("http://[::1", False)],
)
def test_probeable_urls(url: str, ok: bool) -> None:
    assert is_probeable_url(url) is ok


def test_real_test_lists_parse(shared_data: Path) -> None:
    for name in ("global.csv", "ru.csv", "cn.csv"):
        entries = list(read_test_list(shared_data / "test-lists" / name))
        assert len(entries) > 100
        assert sum(is_probeable_url(e.url) for e in entries) / len(entries) > 0.99

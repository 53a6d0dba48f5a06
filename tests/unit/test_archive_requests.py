"""Requests as records (archive/requests.py, request_files.py, request_store.py): validation
with errors naming the record, YAML and CSV, all-or-nothing imports, idempotency."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from censorwatch.archive.request_files import format_of, read_records
from censorwatch.archive.request_store import ImportFailed, RequestStore
from censorwatch.archive.requests import BlockingRequest, RequestError, build_request, parse_target

# Made up, but shaped like the real thing.
YAML = """\
requests:
  - id: rkn-2024-example-01
    requester: Roskomnadzor
    recipient: Example Video Hosting LLC
    date: 2024-03-05
    legal_basis: "ст. 15.3 Федерального закона № 149-ФЗ"
    action: delete
    targets:
      - https://video.example.com/watch?v=abc123
      - "@example_channel"
    outcome: complied
    outcome_date: 2024-03-07
    note: Notice received by e-mail; the video was removed within two days.
  - requester: Тверской районный суд г. Москвы
    recipient: Roskomnadzor
    date: 2023-11
    action: block
    targets: [news.example.org, 203.0.113.7]
"""

CSV = """\
id,requester,recipient,date,legal_basis,action,targets,documents,outcome,outcome_date,note
cac-2019-example,Cyberspace Administration of China,Roskomnadzor,2019-06-01,cooperation agreement,block,\
https://www.example.com/zhongwen/article-1 example.com,,unknown,,"made up, for the tests"
,Roskomnadzor,Twitter,2021-03-10,ст. 15.3 149-ФЗ,delete,twitter:@someone https://twitter.com/someone/status/1,\
0123456789abcdef0123,partial,2021-04-01,
"""


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    return duckdb.connect(":memory:")


def records(path: Path) -> list[tuple[str, BlockingRequest | RequestError]]:
    found: list[tuple[str, BlockingRequest | RequestError]] = []
    for item in read_records(path, format_of(path)):
        if isinstance(item, RequestError):
            found.append((item.where, item))
            continue
        where, fields = item
        try:
            found.append((where, build_request(fields, where)))
        except RequestError as error:
            found.append((where, error))
    return found


def test_targets_are_normalised() -> None:
    assert parse_target("HTTPS://Video.Example.COM/watch?v=1#t=3").value == "https://video.example.com/watch?v=1"
    assert parse_target("ПРИМЕР.рф").value == "xn--e1afmkfd.xn--p1ai"
    assert parse_target("ПРИМЕР.рф").kind == "domain"
    assert parse_target("[2001:db8::0:1]").value == "2001:db8::1"
    assert parse_target("@Example_Channel").value == "@example_channel"
    assert parse_target("twitter:@Someone").value == "twitter:@someone"
    for bad in ("", "example.com/path", "http://", "not a target"):
        with pytest.raises(ValueError):
            parse_target(bad)


def test_every_problem_of_a_record_is_named_at_once() -> None:
    with pytest.raises(RequestError) as caught:
        build_request({"requester": "RKN", "date": "2024-13-01", "action": "Block!", "outcome": "maybe",
                       "targets": ["example.com/x"], "documents": ["abc"], "colour": "red"}, "line 7")
    message = str(caught.value)
    assert message.startswith("line 7: ")
    for part in ("unknown field(s) colour", "recipient is required", "date '2024-13-01' is not a date",
                 "action 'block!'", "outcome must be one of", "needs its scheme", "document 'abc'"):
        assert part in message


def test_a_request_without_an_id_gets_one_from_its_content() -> None:
    fields = {"requester": "RKN", "recipient": "Host", "date": "2024", "action": "block",
              "targets": "b.example a.example"}
    first = build_request(fields, "line 2")
    again = build_request({**fields, "targets": "a.example b.example a.example"}, "line 9")
    assert first.request_id == again.request_id and first.request_id.startswith("req-")
    assert [t.value for t in again.targets] == ["a.example", "b.example"]
    assert first.outcome == "unknown"


def test_yaml_and_csv_import_and_list(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    (tmp_path / "r.yaml").write_text(YAML, encoding="utf-8")
    (tmp_path / "r.csv").write_text(CSV, encoding="utf-8")
    store = RequestStore(con, writable=True)
    report = store.save(records(tmp_path / "r.yaml"), "r.yaml")
    assert (report.added, report.updated, report.unchanged) == (2, 0, 0)
    report = store.save(records(tmp_path / "r.csv"), "r.csv")
    assert (report.added, report.missing_documents) == (2, {"0123456789abcdef0123"})
    listed = [item["request"] for item in store.listed()]
    assert [r.date for r in listed] == ["2019-06-01", "2021-03-10", "2023-11", "2024-03-05"]
    first = listed[-1]
    assert first.request_id == "rkn-2024-example-01" and first.outcome == "complied"
    assert [t.kind for t in first.targets] == ["url", "account"]
    assert listed[1].documents[0].reference == "0123456789abcdef0123"
    assert [i["request"].request_id for i in store.listed(recipient="twit")] == [listed[1].request_id]
    # The same files again: nothing added, nothing changed.
    again = store.save(records(tmp_path / "r.yaml"), "r.yaml")
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
    # An edited record replaces the stored one.
    (tmp_path / "r.yaml").write_text(YAML.replace("outcome: complied", "outcome: refused"), encoding="utf-8")
    edited = store.save(records(tmp_path / "r.yaml"), "r.yaml")
    assert (edited.updated, edited.unchanged) == (1, 1)
    assert store.get("rkn-2024-example-01")["request"].outcome == "refused"  # type: ignore[index]
    assert len(list(store.listed())) == 4
    assert con.execute("SELECT count(*) FROM archive_request_targets").fetchall()[0][0] == 8


def test_one_bad_row_imports_nothing_and_every_bad_row_is_named(tmp_path: Path,
                                                                con: duckdb.DuckDBPyConnection) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "id,requester,recipient,date,action,targets\n"
        "ok-1,RKN,Host,2024-01-01,block,a.example\n"
        "bad-1,RKN,,2024-01-01,block,a.example\n"
        "ok-1,RKN,Host,2024-01-02,block,b.example\n"
        "bad-2,RKN,Host,2024-01-01,block\n"
        '"ok-2","RKN","Host","2024-01-01","block","multi\nline.example"\n'
        "bad-3,RKN,Host,01.02.2024,block,c.example\n",
        encoding="utf-8",
    )
    store = RequestStore(con, writable=True)
    with pytest.raises(ImportFailed) as caught:
        store.save(records(bad), "bad.csv")
    problems = {error.where: str(error) for error in caught.value.report.errors}
    assert set(problems) == {"line 3", "line 4", "line 5", "line 8"}
    assert "recipient is required" in problems["line 3"]
    assert "given before, at line 2" in problems["line 4"]
    assert "5 cells where the header has 6" in problems["line 5"]
    assert "date must be YYYY-MM-DD" in problems["line 8"]
    assert con.execute("SELECT count(*) FROM archive_requests").fetchall()[0][0] == 0


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("a.yaml", "requests: [1, 2", "not valid YAML"),
    ("a.yaml", "requester: RKN\n", "expected a list of requests"),
    ("a.csv", "id,requester,colour\n", "unknown column(s) colour"),
    ("a.txt", "", "cannot tell the format"),
])
def test_unreadable_files(tmp_path: Path, name: str, text: str, expected: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RequestError) as caught:
        list(read_records(path, format_of(path)))
    assert expected in str(caught.value)


def test_yaml_records_name_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "r.yml"
    path.write_text("- requester: A\n  recipient: B\n  date: 2020\n  action: block\n  targets: [x.example]\n"
                    "- [not, a, mapping]\n"
                    "- requester: C\n  targets: {a: b}\n", encoding="utf-8")
    found = records(path)
    assert isinstance(found[0][1], BlockingRequest) and found[0][1].date == "2020"
    assert str(found[1][1]).startswith("request 2: each request must be a mapping")
    assert found[2][0] == "line 7" and "targets must be a list or a text" in str(found[2][1])


def test_the_documented_examples_are_valid(tmp_path: Path) -> None:
    """Every YAML and CSV example of docs/archive-requests.md imports as it stands."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "archive-requests.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(yaml|csv)\n(.*?)```", text, flags=re.S)
    assert [kind for kind, _ in blocks].count("yaml") == 2 and [kind for kind, _ in blocks].count("csv") == 1
    for number, (kind, body) in enumerate(blocks):
        path = tmp_path / f"example{number}.{kind}"
        path.write_text(body, encoding="utf-8")
        found = records(path)
        assert found and all(isinstance(item, BlockingRequest) for _, item in found), found

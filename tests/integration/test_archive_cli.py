"""The archive end to end through the CLI, extractors in worker processes, DuckDB files in tmp
dirs: the shared documents searchable in three languages, idempotent adds, hostile files recorded
as failed beside good ones, a run killed with SIGKILL completed by the next, requests, private
collections and masking, and the output shapes of search, show, entities and export."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from censorwatch.archive.index import ArchiveIndex
from censorwatch.archive.layout import index_directory, originals_directory
from tests.integration.archive_cli import add, rows, run
from tests.integration.archive_files import email_with_attachment, good_files, hostile_files
from tests.unit.test_archive_extract_samples import rtf_cp1251

pytestmark = pytest.mark.integration

SEARCH_FIELDS = {"doc_id", "title", "collection", "language", "date", "score", "snippet", "sha256"}
_SHARED: dict[str, Any] = {}





def originals(db: Path) -> list[str]:
    return sorted(p.name for p in originals_directory(db).rglob("*") if p.is_file())


@pytest.fixture
def shared_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The shared documents, added once for the module's tests."""
    if "db" not in _SHARED:
        db = tmp_path_factory.mktemp("shared") / "store.duckdb"
        started = time.monotonic()
        report = add(db, str(shared_data / "documents"), "--collection", "shared", "--source", "../shared/data")
        report["wall"] = time.monotonic() - started
        _SHARED.update(db=db, report=report)
    return _SHARED["db"], _SHARED["report"]


def search(db: Path, query: str, *extra: str) -> dict[str, Any]:
    code, out, err = run("archive", "search", query, "--db", str(db), "--format", "json", *extra)
    assert code == 0, err
    found: dict[str, Any] = json.loads(out)
    return found


def test_shared_documents_have_text_languages_and_entities(shared_store: tuple[Path, dict[str, Any]]) -> None:
    db, report = shared_store
    assert (report["files"], report["added"], report["present"], report["failed"]) == (30, 29, 1, 0), report
    print(f"shared documents: {report['files']} files in {report['seconds']:.2f} s of ingest "
          f"({report['files'] / report['seconds']:.1f} files/s), {report['wall']:.2f} s with start-up")
    languages = dict(rows(db, "SELECT name, language FROM archive_documents"))
    assert languages["zh_prc_cybersecurity_law_2016.md"] == "zh"
    assert languages["ru_federal_law_149-FZ_art15x_excerpts.txt"] == "ru"
    assert languages["en_lumen_fixture_twitter_dmca_notice.txt"] == "en"
    for query in ("Роскомнадзора", "451555-РИ", "2-1066/2016"):
        found = search(db, query, "--limit", "50")
        names = [hit["title"] for hit in found["hits"]]
        assert "451555_notification_on.rtf" in names, (query, names)
        assert found["total"] >= len(found["hits"]) > 0
    chinese = search(db, "网络安全")
    assert chinese["hits"][0]["language"] == "zh"
    assert search(db, "Роскомнадзор", "--lang", "zh")["total"] == 0
    hit = search(db, "451555-РИ")["hits"][0]
    assert set(hit) >= SEARCH_FIELDS and len(hit["sha256"]) == 64 and isinstance(hit["score"], float)
    code, out, _ = run("archive", "entities", "--type", "record", "--format", "json", "--db", str(db))
    records = {row["value"]: row["documents"] for row in json.loads(out)}
    assert code == 0 and records["451555-РИ"] >= 2 and "817678-РИ" in records
    code, out, _ = run("archive", "entities", "--format", "json", "--db", str(db))
    kinds = {row["type"] for row in json.loads(out)}
    assert {"url", "domain", "record", "law", "agency"} <= kinds
    assert all(set(row) == {"type", "value", "documents"} for row in json.loads(out))


def test_adding_again_stores_nothing(shared_store: tuple[Path, dict[str, Any]], shared_data: Path) -> None:
    db, _ = shared_store
    count = rows(db, "SELECT count(*), count(DISTINCT doc_id) FROM archive_documents")
    kept = originals(db)
    again = add(db, str(shared_data / "documents"), "--collection", "shared", "--source", "../shared/data")
    assert (again["files"], again["added"], again["present"], again["indexed"]) == (30, 0, 30, 0)
    assert rows(db, "SELECT count(*), count(DISTINCT doc_id) FROM archive_documents") == count == [(29, 29)]
    assert originals(db) == kept
    # The same bytes in another collection: one more document, no more originals.
    one = shared_data / "documents" / "ru_rkn_notification_451555-RI_2018_decoded.txt"
    assert add(db, str(one), "--collection", "copies")["added"] == 1
    assert originals(db) == kept
    assert rows(db, "SELECT count(DISTINCT collection) FROM archive_documents "
                    "WHERE name = 'ru_rkn_notification_451555-RI_2018_decoded.txt'") == [(2,)]


def test_show_and_export(shared_store: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    db, _ = shared_store
    doc_id = search(db, "451555-РИ")["hits"][0]["doc_id"]
    code, out, err = run("archive", "show", doc_id[:8], "--text", "--format", "json", "--db", str(db))
    assert code == 0, err
    shown = json.loads(out)
    assert shown["doc_id"] == doc_id and shown["status"] == "ok" and shown["collection"] == "shared"
    assert shown["original_path"].endswith("451555_notification_on.rtf")
    assert Path(shown["original"]).read_bytes() == Path(shown["original_path"]).read_bytes()
    assert {"record", "case", "law", "url"} <= {e["type"] for e in shown["entities"]}
    assert "451555-РИ" in shown["pages"][0]["text"]
    code, out, _ = run("archive", "show", doc_id, "--db", str(db))
    assert code == 0 and "451555" in out and "Entities" in out
    code, _, err = run("archive", "show", "ffffffffff", "--db", str(db))
    assert code == 2 and "no document" in err
    output = tmp_path / "export.jsonl"
    code, _, err = run("archive", "export", "--format", "jsonl", "-o", str(output), "--db", str(db))
    assert code == 0, err
    lines = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == rows(db, "SELECT count(*) FROM archive_documents WHERE collection <> 'private'")[0][0]
    exported = next(line for line in lines if line["doc_id"] == doc_id)
    assert exported["pages"][0]["text"] == shown["pages"][0]["text"]
    assert {"page", "type", "value", "text", "start", "end"} == set(exported["entities"][0])
    assert all(line["pages"] or line["status"] != "ok" for line in lines if line["kind"] != "zip")
    code, out, _ = run("archive", "export", "--db", str(db), "--collection", "shared")
    assert code == 0 and len(out.splitlines()) == 29


def test_private_collections_and_masking(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    leak = tmp_path / "leak"
    leak.mkdir()
    (leak / "memo.txt").write_text("Служебная записка. Связаться: ivan.petrov@mail.ru, тел. +7 (916) 123-45-67; "
                                   "копия zapret-info@rkn.gov.ru. Блокировка сайта leaked-site.example",
                                   encoding="utf-8")
    assert add(db, str(leak), "--collection", "leak", "--private")["added"] == 1
    public = tmp_path / "public"
    public.mkdir()
    (public / "note.txt").write_text("Публичная заметка о блокировке, автор anna@example-blog.ru", encoding="utf-8")
    add(db, str(public), "--collection", "open")
    code, _, err = run("archive", "add", str(public), "--collection", "open", "--private", "--db", str(db))
    assert code == 2 and "was created public" in err
    assert search(db, "блокировка")["total"] == 1  # the public note only
    assert search(db, "блокировка", "--private")["total"] == 2
    doc_id = search(db, "leaked-site.example", "--private")["hits"][0]["doc_id"]
    code, _, err = run("archive", "show", doc_id, "--db", str(db))
    assert code == 2 and "private collection" in err and "--private" in err
    code, out, _ = run("archive", "show", doc_id, "--private", "--text", "--format", "json", "--db", str(db))
    assert "ivan.petrov@mail.ru" in json.loads(out)["pages"][0]["text"]
    code, out, _ = run("archive", "export", "--db", str(db))
    assert [json.loads(line)["collection"] for line in out.splitlines()] == ["open"]
    masked = json.loads(out.splitlines()[0])
    assert "anna@" not in masked["pages"][0]["text"] and "████@" in masked["pages"][0]["text"]
    assert all("anna" not in e["value"] for e in masked["entities"])
    code, out, _ = run("archive", "export", "--private", "--db", str(db))
    texts = " ".join(json.loads(line)["pages"][0]["text"] for line in out.splitlines())
    assert "ivan.petrov@mail.ru" in texts and "+7 (916) 123-45-67" in texts
    code, out, err = run("archive", "entities", "--type", "email", "--format", "json", "--db", str(db))
    assert [row["value"] for row in json.loads(out)] == [] and "not listed" in err
    code, out, _ = run("archive", "entities", "--type", "email", "--private", "--format", "json", "--db", str(db))
    assert {row["value"] for row in json.loads(out)} >= {"ivan.petrov@mail.ru", "anna@example-blog.ru",
                                                         "zapret-info@rkn.gov.ru"}
    # The index is derived: built again from the rows, it answers the same.
    code, _, err = run("archive", "reindex", "--db", str(db))
    assert code == 0 and "indexed 2 documents" in err
    assert search(db, "блокировка", "--private")["total"] == 2


def test_hostile_files_fail_with_reasons_and_good_ones_are_all_stored(tmp_path: Path) -> None:
    words = good_files(tmp_path / "in" / "good")
    hostile_files(tmp_path / "in" / "bad")
    db = tmp_path / "store.duckdb"
    report = add(db, str(tmp_path / "in"))
    assert report["files"] == len(words) + 6 and report["skipped"] == 0
    status = {name: (state, reason) for name, state, reason in rows(
        db, "SELECT name, status, reason FROM archive_documents WHERE depth = 0")}
    assert "zip bomb" in status["overlap-bomb.zip"][1] and status["overlap-bomb.zip"][0] == "failed"
    assert status["truncated.pdf"][0] == "failed" and "PDF" in status["truncated.pdf"][1]
    assert status["junk.bin"] == ("failed", "unsupported format: binary data")
    assert status["malformed.eml"][0] in ("ok", "failed")  # recorded either way; never stops the batch
    failures = {(item["document"].rsplit("/", 1)[-1], item["reason"]) for item in report["failures"]}
    assert any(name == "zeros-bomb.zip" and "zip bomb" in reason for name, reason in failures)
    assert any(name == "encrypted.zip" and "secret.txt: encrypted" in reason for name, reason in failures)
    for name, word in words.items():
        assert status[name] == ("ok", None), name
        hits = [hit["name"] for hit in search(db, word, "--limit", "50")["hits"]]
        assert name in hits, (name, word, hits)
    children = dict(rows(db, "SELECT d.name, p.name FROM archive_documents d JOIN archive_documents p "
                             "ON p.doc_id = d.parent_id"))
    assert children["inside.txt"] == "bundle.zip" and children["order.pdf"] == "mail.eml"
    assert children["plain.txt"] == "encrypted.zip"
    assert search(db, "blocking-order-77")["hits"][0]["name"] == "inside.txt"
    assert search(db, "2-507/2018")["hits"][0]["name"] == "order.pdf"  # the e-mail's attachment
    # Every original is kept byte for byte, the failed ones too.
    for name in ("overlap-bomb.zip", "truncated.pdf", "junk.bin", "zeros-bomb.zip"):
        sha = rows(db, f"SELECT sha256 FROM archive_documents WHERE name = '{name}'")[0][0]
        assert (originals_directory(db) / sha[:2] / sha).read_bytes() == (tmp_path / "in" / "bad" / name).read_bytes()


def test_a_run_killed_halfway_is_completed_by_the_next(tmp_path: Path) -> None:
    files = tmp_path / "many"
    files.mkdir()
    total = 900
    for number in range(total):
        (files / f"doc{number:04d}.txt").write_text(
            f"Документ {number}: решение по делу № 2-{number}/2019, сайт site{number}.example.com. "
            + "Текст уведомления о блокировке. " * 30, encoding="utf-8")
    db = tmp_path / "store.duckdb"
    command = [sys.executable, "-m", "censorwatch", "archive", "add", str(files), "--db", str(db), "--workers", "2"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    # Kill once the first batch's originals are committed: rows of a batch, or the index, in flight.
    while time.monotonic() < deadline and process.poll() is None and len(originals(db)) < 250:
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    report = add(db, str(files))
    assert report["files"] == total and report["added"] + report["present"] == total
    assert rows(db, "SELECT count(*), count(DISTINCT doc_id), count(DISTINCT sha256), count(*) FILTER (indexed) "
                    "FROM archive_documents") == [(total, total, total, total)]
    assert rows(db, "SELECT count(*) FROM archive_pages") == [(total,)]
    assert rows(db, "SELECT count(*) FROM archive_locations") == [(total,)]
    assert len(originals(db)) == total
    assert not [p for p in originals_directory(db).rglob(".*.tmp")]
    with ArchiveIndex(index_directory(db)) as index:
        assert index.count() == total
    for number in (0, total // 2, total - 1):
        assert search(db, f"site{number}.example.com")["total"] == 1
    again = add(db, str(files))
    assert (again["added"], again["present"]) == (0, total)


YAML = """\
requests:
  - id: cac-2019-example
    requester: Cyberspace Administration of China
    recipient: Roskomnadzor
    date: 2019-07
    legal_basis: cooperation agreement (as the letter names it)
    action: block
    targets: [https://www.example-news.com/zhongwen/simp/world-1]
    outcome: unknown
  - requester: Roskomnadzor
    recipient: Example Social Network
    date: 2021-03-10
    action: delete
    targets: ["example-social:@someone", https://example-social.com/someone/status/1]
    outcome: partial
    outcome_date: 2021-04-01
"""


def test_requests_are_imported_added_listed_and_shown(shared_store: tuple[Path, dict[str, Any]],
                                                     tmp_path: Path) -> None:
    db = tmp_path / "requests.duckdb"
    doc_dir = tmp_path / "docs"
    doc_dir.mkdir()
    (doc_dir / "order.txt").write_text("Решение суда № 2-1066/2016 о блокировке pontorez.com", encoding="utf-8")
    add(db, str(doc_dir), "--collection", "orders")
    doc_id, sha = rows(db, "SELECT doc_id, sha256 FROM archive_documents")[0]
    (tmp_path / "r.yaml").write_text(YAML, encoding="utf-8")
    code, out, err = run("archive", "request", "import", str(tmp_path / "r.yaml"), "--db", str(db))
    assert code == 0 and "2 added" in out, err
    csv = tmp_path / "r.csv"
    csv.write_text("id,requester,recipient,date,legal_basis,action,targets,documents,outcome\n"
                   f"court-2016-1066,Заволжский районный суд г. Твери,Roskomnadzor,2016-06-01,"
                   f"ч. 7 ст. 15.1 149-ФЗ,block,http://pontorez.com/node/768,{sha},complied\n", encoding="utf-8")
    code, out, err = run("archive", "request", "import", str(csv), "--db", str(db))
    assert code == 0 and "1 added" in out, err
    code, out, _ = run("archive", "request", "import", str(csv), "--db", str(db))
    assert "0 added, 0 updated, 1 unchanged" in out
    code, out, err = run("archive", "request", "add", "--requester", "Roskomnadzor", "--recipient", "Hoster",
                         "--date", "2018-06-13", "--target", "http://pontorez.com/node/768", "--document", doc_id,
                         "--legal-basis", "149-ФЗ ст. 15.1", "--db", str(db))
    assert code == 0 and "added" in out, err
    code, out, _ = run("archive", "request", "list", "--format", "json", "--db", str(db))
    listed = json.loads(out)
    assert [r["date"] for r in listed] == ["2016-06-01", "2018-06-13", "2019-07", "2021-03-10"]
    assert set(listed[0]) >= {"id", "requester", "recipient", "date", "legal_basis", "action", "outcome",
                              "outcome_date", "note", "targets", "documents"}
    code, out, _ = run("archive", "request", "list", "--db", str(db))
    assert code == 0 and "court-2016-1066" in out
    code, out, _ = run("archive", "show", doc_id, "--format", "json", "--db", str(db))
    assert {r["id"] for r in json.loads(out)["requests"]} == {"court-2016-1066", listed[1]["id"]}
    bad = tmp_path / "bad.csv"
    bad.write_text("requester,recipient,date,action,targets\nA,B,2020-01-01,block,ok.example\n"
                   "A,,2020-01-01,block,ok.example\nA,B,soon,block,ok.example\n", encoding="utf-8")
    code, out, err = run("archive", "request", "import", str(bad), "--db", str(db))
    assert code == 1 and "line 3: recipient is required" in err and "line 4: date must be" in err
    assert "nothing imported" in err
    assert rows(db, "SELECT count(*) FROM archive_requests") == [(4,)]
    code, _, err = run("archive", "request", "add", "--requester", "X", "--recipient", "Y", "--date", "2020",
                       "--target", "not a target", "--db", str(db))
    assert code == 2 and "not a target" in err


def test_an_undated_attachment_takes_its_messages_day(tmp_path: Path) -> None:
    # An RTF notice's own times are its template's (2019-07-08 here): the e-mail's day is its date.
    notice = rtf_cp1251(["Уведомление о внесении в реестр, номер реестровой записи 451555-РИ"])
    files = tmp_path / "in"
    files.mkdir()
    (files / "mail.eml").write_bytes(email_with_attachment("[eais#560867]", "Направляется уведомление", notice,
                                                           "451555_notification_on.rtf"))
    (files / "notice.rtf").write_bytes(notice)
    db = tmp_path / "store.duckdb"
    assert add(db, str(files))["failed"] == 0
    dates = dict(rows(db, "SELECT name, date FROM archive_documents"))
    sent = datetime(2018, 6, 13, 14, 43, 26)  # Wed, 13 Jun 2018 17:43:26 +0300, in UTC
    assert dates == {"mail.eml": sent, "451555_notification_on.rtf": sent, "notice.rtf": None}

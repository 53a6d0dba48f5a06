"""`censorwatch archive add --retry`: documents recorded as failed or needing OCR are extracted
again (a child from its kept original), ok ones are not. Through the real CLI with Debian's
tesseract (a scanned page added with --no-ocr, then retried with OCR), through the CLI with the
workers' extractor failing until the test lets it work, and in-process for a tree whose new
extraction has fewer members."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from censorwatch.archive import analysed
from censorwatch.archive.extract import extract
from censorwatch.archive.extract import ocr as tesseract
from censorwatch.archive.index import ArchiveIndex
from censorwatch.archive.ingest import AddOptions, Item, Outcome, add_paths, extract_one
from censorwatch.archive.model import Child, Extracted, ExtractionFailed, TextPart
from censorwatch.archive.session import Archive
from tests.integration.archive_cli import add, rows, run
from tests.integration.archive_files import email_with_attachment, zip_of
from tests.unit.test_archive_extract_samples import DEJAVU, font_pdf, image_pdf

pytestmark = pytest.mark.integration

FAIL_NAMES = "CENSORWATCH_TEST_FAIL_NAMES"  # the workers' extractor fails the files named here


def failing_extract(data: bytes, name: str, *, ocr: bool = True) -> Extracted:
    """The workers' extractor (analysed.extract_analysed), with a bug the test can turn on for the
    files it names, as a fixed extractor would be after the fix."""
    if name in os.environ.get(FAIL_NAMES, "").split(","):
        raise ExtractionFailed("the extractor has a bug (simulated)")
    return analysed.extract_analysed(data, name, ocr=ocr)





def search(db: Path, query: str) -> dict[str, Any]:
    code, out, err = run("archive", "search", query, "--db", str(db), "--format", "json")
    assert code == 0, err
    found: dict[str, Any] = json.loads(out)
    return found


def states(db: Path) -> dict[str, tuple[Any, ...]]:
    return {row[0]: row[1:] for row in rows(
        db, "SELECT name, status, reason, indexed, added_at FROM archive_documents")}


SCANNED = ["Роскомнадзор", "Единый реестр", "Blocking order 451555"]


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="Debian's tesseract-ocr is not installed")
@pytest.mark.skipif(not DEJAVU.exists(), reason="no DejaVu Sans to draw Cyrillic text with (fonts-dejavu-core)")
def test_scans_added_without_ocr_are_read_by_a_retry_with_it(tmp_path: Path) -> None:
    if "rus" not in tesseract.languages():
        pytest.skip("tesseract has no Russian traineddata (tesseract-ocr-rus)")
    scan = image_pdf(font_pdf(SCANNED))
    files = tmp_path / "in"
    files.mkdir()
    (files / "scan.pdf").write_bytes(scan)
    (files / "mail.eml").write_bytes(email_with_attachment("Скан решения", "Решение во вложении", scan,
                                                           "attached-scan.pdf"))
    (files / "plain.txt").write_text("Обычный текст без скана", encoding="utf-8")
    db = tmp_path / "store.duckdb"
    first = add(db, str(files), "--no-ocr", workers=1)
    assert (first["added"], first["children"], first["needs_ocr"]) == (3, 1, 2)
    before = states(db)
    assert before["scan.pdf"][0] == before["attached-scan.pdf"][0] == "needs_ocr"
    assert before["mail.eml"][0] == "ok" and before["plain.txt"][0] == "ok"
    assert search(db, "Роскомнадзор")["total"] == 0
    # Without --retry a held file is left as it is, failed or not.
    again = add(db, str(files), workers=1)
    assert (again["present"], again["retried"], again["added"], again["indexed"]) == (3, 0, 0, 0)
    assert states(db) == before

    retried = add(db, str(files), "--retry", workers=1)
    assert (retried["present"], retried["added"], retried["retried"], retried["recovered"]) == (3, 0, 2, 2)
    assert (retried["needs_ocr"], retried["failed"], retried["indexed"]) == (0, 0, 2)
    after = states(db)
    assert after["scan.pdf"][:3] == after["attached-scan.pdf"][:3] == ("ok", None, True)
    # The ok documents were not rewritten; the retried ones keep when they were first added.
    assert after["mail.eml"] == before["mail.eml"] and after["plain.txt"] == before["plain.txt"]
    assert after["scan.pdf"][3] == before["scan.pdf"][3]
    assert {hit["name"] for hit in search(db, "Роскомнадзор")["hits"]} == {"scan.pdf", "attached-scan.pdf"}
    pages = rows(db, "SELECT p.text FROM archive_pages p JOIN archive_documents d USING (doc_id) "
                     "WHERE d.name = 'scan.pdf'")
    assert pages[0][0].split("\n") == SCANNED
    parent = rows(db, "SELECT p.name FROM archive_documents d JOIN archive_documents p ON p.doc_id = d.parent_id "
                      "WHERE d.name = 'attached-scan.pdf'")
    assert parent == [("mail.eml",)]
    assert rows(db, "SELECT count(*) FROM archive_documents") == [(4,)]
    with ArchiveIndex(db.with_name(db.name + ".archive") / "index") as index:
        assert index.count() == 4
    nothing = add(db, str(files), "--retry", workers=1)
    assert (nothing["retried"], nothing["indexed"]) == (0, 0)


def test_a_retried_attachment_takes_its_messages_day(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Extracted again on its own, from its kept original: the message's day comes from its row.
    monkeypatch.setattr(analysed, "TARGET", f"{__name__}:failing_extract")
    monkeypatch.setenv(FAIL_NAMES, "letter.txt")
    files = tmp_path / "in"
    files.mkdir()
    (files / "mail.eml").write_bytes(email_with_attachment("Требование", "Во вложении", "Требование об удалении"
                                                           .encode(), "letter.txt"))
    db = tmp_path / "store.duckdb"
    assert add(db, str(files), workers=1)["failed"] == 1
    monkeypatch.delenv(FAIL_NAMES)
    assert add(db, str(files), "--retry", workers=1)["recovered"] == 1
    sent = datetime(2018, 6, 13, 14, 43, 26)  # the e-mail's Date, in UTC
    assert dict(rows(db, "SELECT name, date FROM archive_documents")) == {"mail.eml": sent, "letter.txt": sent}


def test_failures_retried_once_the_extractor_is_fixed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analysed, "TARGET", f"{__name__}:failing_extract")
    monkeypatch.setenv(FAIL_NAMES, "order.txt,member.txt")
    files = tmp_path / "in"
    files.mkdir()
    (files / "order.txt").write_text("Решение по делу 2-1066/2016 о блокировке pontorez.com", encoding="utf-8")
    (files / "bundle.zip").write_bytes(zip_of({"member.txt": b"member text retry-zz31",
                                               "fine.txt": b"fine member text"}))
    db = tmp_path / "store.duckdb"
    first = add(db, str(files), "--source", "first copy", workers=1)
    assert (first["added"], first["children"], first["failed"]) == (2, 2, 2)
    assert first["reasons"] == {"the extractor has a bug (simulated)": 2}
    before = states(db)
    assert before["order.txt"][:2] == before["member.txt"][:2] == ("failed", "the extractor has a bug (simulated)")

    # Retried with the bug still there: the records stay failed, with this run's reason.
    still = add(db, str(files), "--retry", workers=1)
    assert (still["retried"], still["recovered"], still["failed"], still["present"]) == (2, 0, 2, 2)
    assert states(db)["order.txt"][:2] == ("failed", "the extractor has a bug (simulated)")

    monkeypatch.delenv(FAIL_NAMES)
    code, out, err = run("archive", "add", str(files), "--retry", "--source", "second copy", "--workers", "1",
                         "--db", str(db))
    assert code == 0, err
    assert "2 retried (2 extracted now)" in out
    after = states(db)
    assert after["order.txt"][:3] == after["member.txt"][:3] == ("ok", None, True)
    assert after["bundle.zip"] == before["bundle.zip"] and after["fine.txt"] == before["fine.txt"]
    assert search(db, "2-1066/2016")["hits"][0]["name"] == "order.txt"
    assert search(db, "retry-zz31")["hits"][0]["name"] == "member.txt"
    entities = rows(db, "SELECT e.value FROM archive_entities e JOIN archive_documents d USING (doc_id) "
                        "WHERE d.name = 'order.txt'")
    assert ("pontorez.com",) in entities
    # The row keeps its first provenance; each later run's source is one more location.
    assert rows(db, "SELECT source FROM archive_documents WHERE name = 'order.txt'") == [("first copy",)]
    assert set(rows(db, "SELECT l.source FROM archive_locations l JOIN archive_documents d USING (doc_id) "
                        "WHERE d.name = 'order.txt'")) == {("first copy",), (None,), ("second copy",)}
    assert rows(db, "SELECT count(*) FROM archive_documents") == [(4,)]


class Scripted:
    """In-process extraction where box.zip is read as the test says (the real extractor for the
    rest): first with two members and pages without text, then, "fixed", with one member."""

    def __init__(self) -> None:
        self.fixed = False
        self.calls: list[str] = []

    def extract(self, data: bytes, name: str) -> Extracted:
        self.calls.append(name)
        if name != "box.zip":
            return extract(data, name, ocr=False)
        if not self.fixed:
            return Extracted("zip", None, None, (TextPart(1, ""),), needs_ocr=True,
                             children=(Child("gone.txt", b"only in the old reading gone-zz5"),
                                       Child("stays.txt", b"in both readings stays-zz6")))
        return Extracted("zip", None, None, (TextPart(1, "box text"),),
                         children=(Child("stays.txt", b"in both readings stays-zz6"),))

    def map(self, items: Iterable[Item]) -> Iterator[tuple[Item, Outcome]]:
        for item in items:
            yield item, extract_one(self, *item)


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    with Archive(tmp_path / "store.duckdb", writable=True) as opened:
        yield opened


def test_members_a_retried_document_no_longer_has_are_removed(archive: Archive, tmp_path: Path) -> None:
    files = tmp_path / "in"
    files.mkdir()
    (files / "box.zip").write_bytes(b"bytes the scripted extractor reads as it is told")
    (files / "other.txt").write_text("an ordinary document", encoding="utf-8")
    extractor = Scripted()
    first = add_paths([files], archive, AddOptions("c"), extractor)
    assert (first.added, first.children, first.needs_ocr) == (2, 2, 1)
    con = archive.con
    old = dict(con.execute("SELECT name, doc_id FROM archive_documents WHERE parent_id IS NOT NULL").fetchall())
    gone_sha = con.execute("SELECT sha256 FROM archive_documents WHERE name = 'gone.txt'").fetchall()[0][0]

    extractor.fixed, extractor.calls = True, []
    report = add_paths([files], archive, AddOptions("c", retry=True), extractor)
    assert extractor.calls == ["box.zip", "stays.txt"]  # other.txt is ok: not extracted again
    assert (report.retried, report.recovered, report.present, report.children) == (1, 1, 2, 1)
    children = con.execute("SELECT name, doc_id, position FROM archive_documents WHERE parent_id IS NOT NULL"
                           ).fetchall()
    # stays.txt moved from position 1 to 0: a new document; both old members are gone.
    assert [(name, position) for name, _, position in children] == [("stays.txt", 0)]
    assert children[0][1] not in old.values()
    assert con.execute("SELECT count(*) FROM archive_documents WHERE list_contains(?, doc_id)",
                       [list(old.values())]).fetchall() == [(0,)]
    assert con.execute("SELECT status FROM archive_documents WHERE name = 'box.zip'").fetchall() == [("ok",)]
    assert con.execute("SELECT count(*) FROM archive_removed").fetchall() == [(0,)]
    assert not archive.originals.path(gone_sha).exists()
    stays_sha = con.execute("SELECT sha256 FROM archive_documents WHERE name = 'stays.txt'").fetchall()[0][0]
    assert archive.originals.path(stays_sha).exists()
    with ArchiveIndex(archive.index_directory) as index:
        assert index.count() == 3
        assert index.search("gone-zz5").total == 0
        assert index.search("stays-zz6").total == 1

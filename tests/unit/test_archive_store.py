"""The archive's store (archive/store.py, originals.py, walk.py, ingest.py, sync.py) on DuckDB
files in tmp dirs, with the extractors run in this process: identity and idempotency, originals
kept once and whole, children and their caps, and a failure between the rows and the index
repaired by the next run."""

from __future__ import annotations

import io
import os
import stat
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from censorwatch.archive.extract import extract
from censorwatch.archive.index import ArchiveIndex
from censorwatch.archive.ingest import AddOptions, Item, Outcome, add_paths, extract_one
from censorwatch.archive.ingest_batch import BatchLimits
from censorwatch.archive.model import Entity, Extracted, TextPart
from censorwatch.archive.originals import OriginalChanged, Originals, sha256_of
from censorwatch.archive.session import Archive
from censorwatch.archive.store import (
    ArchiveStore,
    CollectionError,
    DocumentRecord,
    Location,
    child_id,
    document_id,
    now,
)
from censorwatch.archive.walk import Found, Skipped, walk


class InProcess:
    """The extractors without worker processes (the isolated extractor has its own tests)."""

    def __init__(self) -> None:
        self.calls = 0

    def extract(self, data: bytes, name: str) -> Extracted:
        self.calls += 1
        return extract(data, name, ocr=False)

    def map(self, items: Iterable[Item]) -> Iterator[tuple[Item, Outcome]]:
        for item in items:
            yield item, extract_one(self, *item)


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    with Archive(tmp_path / "store.duckdb", writable=True) as opened:
        yield opened


@pytest.fixture
def files(tmp_path: Path) -> Path:
    root = tmp_path / "files"
    (root / "sub").mkdir(parents=True)
    (root / "order.txt").write_text("Решение по делу № 2-1066/2016, запись 451555-РИ, сайт pontorez.com",
                                    encoding="utf-8")
    (root / "sub" / "copy.txt").write_bytes((root / "order.txt").read_bytes())
    (root / "sub" / "letter.html").write_text("<html><head><title>Письмо</title></head><body><p>Роскомнадзор "
                                              "требует удалить http://example.com/page</p></body></html>",
                                              encoding="utf-8")
    (root / "bundle.zip").write_bytes(zip_of({"a.txt": b"first member, example.org",
                                              "inner.zip": zip_of({"b.txt": "второй уровень".encode()})}))
    return root


def test_identity() -> None:
    digest = sha256_of(b"x")
    assert document_id("a", digest) == document_id("a", digest) != document_id("b", digest)
    assert len(document_id("a", digest)) == 20
    assert child_id("p", 0, "n", digest) != child_id("p", 1, "n", digest) != child_id("q", 1, "n", digest)


def test_originals_are_kept_once_whole_and_read_only(tmp_path: Path) -> None:
    originals = Originals(tmp_path / "originals")
    digest = originals.put(b"evidence")
    assert originals.put(b"evidence") == digest == sha256_of(b"evidence")
    path = originals.path(digest)
    assert not path.exists() and originals.read(digest) == b"evidence"  # staged until committed
    assert originals.commit() == 1 and originals.commit() == 0
    assert path.parent.name == digest[:2] and path.read_bytes() == b"evidence"
    assert not os.stat(path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert [p.name for p in path.parent.iterdir()] == [digest]  # no temporary left
    big = tmp_path / "big.bin"
    big.write_bytes(b"b" * 3_000_000)
    with pytest.raises(OriginalChanged):
        originals.put_file(big, sha256_of(b"something else"))
    assert not originals.has(sha256_of(b"something else"))
    originals.put_file(big, sha256_of(big.read_bytes()))
    originals.commit()
    assert originals.read(sha256_of(big.read_bytes())) == big.read_bytes()
    (path.parent / f".{digest}.123.tmp").write_bytes(b"torn")  # what a killed writer leaves
    assert originals.sweep() == 1 and [p.name for p in path.parent.iterdir()] == [digest]


def record(doc_id: str, text: str, **changes: object) -> DocumentRecord:
    fields: dict[str, object] = {
        "doc_id": doc_id, "sha256": sha256_of(text.encode()), "parent_id": None, "collection": "c", "source": "s",
        "original_path": f"/x/{doc_id}", "name": doc_id, "kind": "text", "title": None, "date": None,
        "language": "ru", "size": len(text), "status": "ok", "reason": None, "added_at": now(), "depth": 0,
        "position": None, "pages": (TextPart(1, text, "ru"),),
        "entities": ((1, Entity("domain", "example.com", "example.com", 0, 11)),),
    }
    fields.update(changes)
    return DocumentRecord(**fields)  # type: ignore[arg-type]


def test_rows_written_again_replace_pages_and_entities(archive: Archive) -> None:
    store = archive.documents
    store.ensure_collection("c", private=False)
    first = record("d1", "one")
    place = Location("d1", "s", "/x/d1", now())
    store.write([first], [place])
    store.write([record("d1", "two")], [place, Location("d1", "s", "/y/d1", now())])
    con = archive.store.con
    assert con.execute("SELECT count(*) FROM archive_documents").fetchall() == [(1,)]
    assert con.execute("SELECT text FROM archive_pages").fetchall() == [("two",)]
    assert con.execute("SELECT count(*) FROM archive_entities").fetchall() == [(1,)]
    assert con.execute("SELECT original_path FROM archive_locations ORDER BY 1").fetchall() == [("/x/d1",),
                                                                                                  ("/y/d1",)]
    # The first sha256 stays: the id was made from it.
    assert con.execute("SELECT sha256 FROM archive_documents").fetchall() == [(first.sha256,)]
    assert store.unindexed(10) == ["d1"]
    store.mark_indexed(["d1"])
    assert store.unindexed(10) == [] and store.indexed_count() == 1


def test_a_public_collection_cannot_be_made_private(archive: Archive) -> None:
    store: ArchiveStore = archive.documents
    assert not store.ensure_collection("open", private=False).private
    with pytest.raises(CollectionError, match="was created public"):
        store.ensure_collection("open", private=True)
    assert store.ensure_collection("leak", private=True).private
    assert store.ensure_collection("leak", private=False).private  # stays private


def test_walk_skips_what_is_not_a_document(tmp_path: Path, files: Path) -> None:
    os.mkfifo(files / "pipe")
    (files / "loop").symlink_to(files, target_is_directory=True)
    (files / "store.duckdb.archive").mkdir()
    (files / "store.duckdb.archive" / "x").write_text("mine")
    found = list(walk([files, tmp_path / "missing"], exclude=[files / "store.duckdb.archive"]))
    names = [str(item.path.relative_to(files)) if item.path.is_relative_to(files) else item.path.name
             for item in found if isinstance(item, Found)]
    assert names == ["bundle.zip", "order.txt", "sub/copy.txt", "sub/letter.html"]
    reasons = {item.path.name: item.reason for item in found if isinstance(item, Skipped)}
    assert "not followed" in reasons["loop"] and "not a regular file" in reasons["pipe"]
    assert "cannot be read" in reasons["missing"]


def test_add_is_idempotent_and_keeps_provenance(archive: Archive, files: Path) -> None:
    options = AddOptions("c", source="test")
    first = add_paths([files], archive, options, InProcess())
    assert (first.files, first.added, first.present, first.failed) == (4, 3, 1, 0)
    assert first.children == 3  # a.txt, inner.zip, and b.txt inside it
    con = archive.store.con
    rows = con.execute("SELECT name, depth, parent_id IS NULL, status, language FROM archive_documents "
                       "ORDER BY depth, name").fetchall()
    assert [row[:3] for row in rows] == [("bundle.zip", 0, True), ("letter.html", 0, True),
                                         ("order.txt", 0, True), ("a.txt", 1, False), ("inner.zip", 1, False),
                                         ("b.txt", 2, False)]
    assert {row[3] for row in rows} == {"ok"}
    values = {row[0] for row in con.execute("SELECT value FROM archive_entities").fetchall()}
    assert {"451555-РИ", "pontorez.com", "http://example.com/page"} <= values
    # The copy is the same document, found at a second path.
    paths = con.execute("SELECT count(*) FROM archive_locations WHERE original_path LIKE '%.txt'").fetchall()
    assert paths == [(2,)]
    extractor = InProcess()
    again = add_paths([files], archive, options, extractor)
    assert (again.added, again.children, again.present, extractor.calls) == (0, 0, 4, 0)
    assert con.execute("SELECT count(*) FROM archive_documents").fetchall() == [(6,)]
    assert con.execute("SELECT count(*) FROM archive_locations").fetchall() == [(4,)]
    # The same bytes in another collection: new documents, no new original.
    originals = sorted(p.name for p in archive.originals.directory.rglob("*") if p.is_file())
    other = add_paths([files / "order.txt"], archive, AddOptions("other"), InProcess())
    assert other.added == 1
    assert sorted(p.name for p in archive.originals.directory.rglob("*") if p.is_file()) == originals


def test_caps_keep_what_they_do_not_extract(archive: Archive, files: Path) -> None:
    (files / "large.txt").write_bytes(b"x" * 5000)
    report = add_paths([files], archive, AddOptions("c", max_file_size=4096, max_depth=1), InProcess())
    con = archive.store.con
    status = dict(con.execute("SELECT name, reason FROM archive_documents WHERE status = 'failed'").fetchall())
    assert status["large.txt"] == "larger than 0 MiB: kept, not extracted"
    assert "nested more than 1 levels deep" in status["b.txt"]
    assert report.failed == 2
    digest = con.execute("SELECT sha256 FROM archive_documents WHERE name = 'large.txt'").fetchall()[0][0]
    assert archive.originals.read(digest) == b"x" * 5000


def test_a_failure_between_rows_and_index_is_repaired(archive: Archive, files: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: ArchiveIndex, documents: object) -> int:
        raise OSError("disk full")

    monkeypatch.setattr(ArchiveIndex, "add", broken)
    with pytest.raises(OSError, match="disk full"):
        add_paths([files], archive, AddOptions("c", limits=BatchLimits(documents=2)), InProcess())
    monkeypatch.undo()
    stored = archive.documents.count()
    assert stored >= 2 and archive.documents.indexed_count() == 0
    report = add_paths([files], archive, AddOptions("c"), InProcess())
    assert report.repaired == stored
    assert archive.documents.count() == 6 and archive.documents.indexed_count() == 6
    with ArchiveIndex(archive.index_directory) as index:
        assert index.count() == 6
        assert index.search("451555-РИ").total == 1  # order.txt; its copy is the same document


def test_a_lost_index_is_rebuilt_from_the_rows(archive: Archive, files: Path) -> None:
    add_paths([files], archive, AddOptions("c"), InProcess())
    for path in sorted(archive.index_directory.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    report = add_paths([files], archive, AddOptions("c"), InProcess())
    assert report.repaired == 6
    with ArchiveIndex(archive.index_directory) as index:
        assert index.count() == 6

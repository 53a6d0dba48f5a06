"""`censorwatch archive remove` through the real CLI, on files the tests write and DuckDB files in
tmp dirs: a document goes with all its descendants from every table, the index and the
originals (an original another document shares stays), requests lose their links and stay, an
unknown id changes nothing, and a process killed between the steps leaves a state that search
tolerates and the next command repairs."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from censorwatch.archive.index import ArchiveIndex
from censorwatch.archive.layout import archive_directory, index_directory, originals_directory
from tests.integration.archive_cli import add, rows, run
from tests.integration.archive_files import email_with_attachment, pdf, zip_of

pytestmark = pytest.mark.integration

NOTE = "Служебная записка: контакт ivan.petrov@mail.ru, запись note-secret-41".encode()
PER_DOCUMENT = ("archive_documents", "archive_pages", "archive_entities", "archive_locations")




def remove(db: Path, *ids: str) -> dict[str, Any]:
    code, out, err = run("archive", "remove", *ids, "--db", str(db), "--format", "json")
    assert code == 0, err
    report: dict[str, Any] = json.loads(out)
    return report



def search(db: Path, query: str, *extra: str) -> dict[str, Any]:
    code, out, err = run("archive", "search", query, "--db", str(db), "--format", "json", "--private", *extra)
    assert code == 0, err
    found: dict[str, Any] = json.loads(out)
    return found


def kept_originals(db: Path) -> set[str]:
    return {p.name for p in originals_directory(db).rglob("*") if p.is_file()}


def index_count(db: Path) -> int:
    with ArchiveIndex(index_directory(db)) as index:
        return int(index.count())


def doc_id_of(db: Path, name: str, collection: str = "leak") -> str:
    found = rows(db, "SELECT doc_id FROM archive_documents WHERE name = ? AND collection = ?", [name, collection])
    assert len(found) == 1, (name, found)
    return str(found[0][0])


def descendants(db: Path, doc_id: str) -> set[str]:
    """The tree below `doc_id`, walked here from parent_id (not with the code under test's query)."""
    children: dict[str, list[str]] = {}
    for child, parent in rows(db, "SELECT doc_id, parent_id FROM archive_documents WHERE parent_id IS NOT NULL"):
        children.setdefault(parent, []).append(child)
    found, stack = set(), [doc_id]
    while stack:
        for child in children.get(stack.pop(), []):
            found.add(child)
            stack.append(child)
    return found


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A private leak: an e-mail with a PDF attachment, a ZIP holding a ZIP (members at depth 1
    and 2), a plain file; and in a public collection the same bytes as one ZIP member."""
    leak = tmp_path / "in" / "leak"
    leak.mkdir(parents=True)
    (leak / "mail.eml").write_bytes(email_with_attachment(
        "[eais#560867] уведомление", "Направляется уведомление о блокировке",
        pdf("attached order 2-507/2018 for mailpart-zz91"), "order.pdf"))
    inner = zip_of({"deep.txt": "глубокий файл deep-member-zz77".encode()})
    (leak / "bundle.zip").write_bytes(zip_of({"note.txt": NOTE, "inner.zip": inner}))
    (leak / "keep.txt").write_text("Остаётся в архиве: keep-me-zz55", encoding="utf-8")
    public = tmp_path / "in" / "public"
    public.mkdir()
    (public / "note-copy.txt").write_bytes(NOTE)
    db = tmp_path / "store.duckdb"
    assert add(db, str(leak), "--collection", "leak", "--private", workers=1)["added"] == 3
    assert add(db, str(public), "--collection", "open", workers=1)["added"] == 1
    return db


def test_removal_takes_the_tree_everywhere_and_keeps_shared_originals(store: Path, tmp_path: Path) -> None:
    db = store
    bundle, mail, keep = (doc_id_of(db, name) for name in ("bundle.zip", "mail.eml", "keep.txt"))
    deep = doc_id_of(db, "deep.txt")
    deep_sha = rows(db, "SELECT sha256 FROM archive_documents WHERE doc_id = ?", [deep])[0][0]
    note_sha = hashlib.sha256(NOTE).hexdigest()
    tree = {bundle, mail} | descendants(db, bundle) | descendants(db, mail)
    assert len(tree) == 6, tree  # bundle.zip, note.txt, inner.zip, deep.txt; mail.eml, order.pdf
    shas = {row[0] for row in rows(db, "SELECT sha256 FROM archive_documents WHERE list_contains(?, doc_id)",
                                   [sorted(tree)])}
    assert shas <= kept_originals(db) and note_sha in shas
    for query in ("deep-member-zz77", "mailpart-zz91", "note-secret-41"):
        assert search(db, query)["total"] >= 1, query
    # A request pointing to the bundle, to the deep member's bytes and to a document that stays.
    code, out, err = run("archive", "request", "add", "--id", "leak-request", "--requester", "Roskomnadzor",
                         "--recipient", "Hoster", "--date", "2018-06-13", "--target", "example.org",
                         "--document", bundle, "--document", deep_sha, "--document", keep, "--db", str(db))
    assert code == 0, err

    report = remove(db, bundle[:8], mail, bundle)  # a prefix and a repeat name the same document
    assert {row["doc_id"] for row in report["removed"]} == tree and report["documents"] == 6
    assert set(report["deleted_blobs"]) == shas - {note_sha} and report["blobs_deleted"] == 5
    assert report["kept_blobs"] == [note_sha] and report["blobs_kept"] == 1  # the public copy holds it
    assert report["dropped_links"] == [{"request_id": "leak-request", "kind": "doc_id", "reference": bundle},
                                       {"request_id": "leak-request", "kind": "sha256", "reference": deep_sha}]
    assert report["requests"] == ["leak-request"] and report["request_links_dropped"] == 2

    for table in PER_DOCUMENT:
        assert rows(db, f"SELECT count(*) FROM {table} WHERE list_contains(?, doc_id)", [sorted(tree)]) == [(0,)]
    assert rows(db, "SELECT count(*) FROM archive_documents") == [(2,)]  # keep.txt and the public copy
    assert rows(db, "SELECT count(*) FROM archive_removed") == [(0,)]
    assert kept_originals(db) == {row[0] for row in rows(db, "SELECT sha256 FROM archive_documents")}
    assert index_count(db) == 2
    for query in ("deep-member-zz77", "mailpart-zz91", "2-507/2018"):
        assert search(db, query)["total"] == 0, query
    assert [hit["collection"] for hit in search(db, "note-secret-41")["hits"]] == ["open"]
    code, _, err = run("archive", "show", mail, "--private", "--db", str(db))
    assert code == 2 and "no document" in err
    code, out, _ = run("archive", "request", "list", "--format", "json", "--db", str(db))
    [request] = json.loads(out)
    assert request["id"] == "leak-request" and request["documents"] == [{"kind": "doc_id", "reference": keep}]
    code, out, _ = run("archive", "show", keep, "--private", "--format", "json", "--db", str(db))
    assert [r["id"] for r in json.loads(out)["requests"]] == ["leak-request"]

    # The last document holding the shared bytes goes: now its original goes too.
    copy = doc_id_of(db, "note-copy.txt", "open")
    again = remove(db, copy)
    assert again["deleted_blobs"] == [note_sha] and again["kept_blobs"] == []
    assert note_sha not in kept_originals(db) and search(db, "note-secret-41")["total"] == 0
    # Removed documents come back only when added again, whole.
    assert add(db, str(tmp_path / "in" / "leak"), "--collection", "leak", workers=1)["added"] == 2
    assert search(db, "deep-member-zz77")["total"] == 1


def test_the_table_output_names_what_went(store: Path) -> None:
    mail = doc_id_of(store, "mail.eml")
    code, out, err = run("archive", "remove", mail, "--db", str(store))
    assert code == 0, err
    assert "mail.eml" in out and "order.pdf" in out
    assert "removed: 2 documents; originals deleted: 2, kept because other documents share them: 0" in out


def digests(db: Path) -> dict[str, str]:
    files = [db, *archive_directory(db).rglob("*"), *db.parent.glob(db.name + ".wal")]
    return {str(path.relative_to(db.parent)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in files if path.is_file()}


def every_row(db: Path) -> dict[str, list[str]]:
    tables = [row[0] for row in rows(db, "SELECT table_name FROM information_schema.tables ORDER BY 1")]
    return {table: sorted(repr(row) for row in rows(db, f"SELECT * FROM {table}")) for table in tables}


def test_an_unknown_id_is_refused_and_nothing_changes(store: Path) -> None:
    db = store
    bundle = doc_id_of(db, "bundle.zip")
    files, tables = digests(db), every_row(db)
    assert len(files) > 6 and tables["archive_documents"]
    code, out, err = run("archive", "remove", bundle, "0123456789abcdef0123", "deadbeefdeadbeef", "--db", str(db))
    assert code == 2, out
    assert "nothing removed" in err and "0123456789abcdef0123" in err and "deadbeefdeadbeef" in err
    assert bundle not in err
    assert digests(db) == files
    assert every_row(db) == tables
    assert search(db, "deep-member-zz77")["total"] == 1
    code, _, err = run("archive", "remove", "ab", "--db", str(db))
    assert code == 2 and "at least 6" in err and digests(db) == files
    code, _, err = run("archive", "remove", bundle, "--db", str(db.parent / "missing.duckdb"))
    assert code == 2 and "no store" in err


# Runs the removal's steps in a process of its own and kills it with SIGKILL at `stop`:
# "transaction" inside step 1 (before its commit), "rows" after step 1, "index" after step 2,
# "blobs" in step 3 after the originals are unlinked, before the journal is emptied.
KILLED = """
import os, signal, sys
from pathlib import Path
from censorwatch.archive import originals, removal
from censorwatch.archive.index import ArchiveIndex
from censorwatch.archive.session import Archive

db, reference, stop = Path(sys.argv[1]), sys.argv[2], sys.argv[3]

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

archive = Archive(db, writable=True)
index = ArchiveIndex(archive.index_directory, writable=True)
if stop == "transaction":
    archive.requests.drop_document_links = die
if stop == "blobs":
    originals.fsync_dir = die  # after the unlinks, before they are durable and the journal emptied
removal.commit_removal(archive, removal.resolve_all(archive, [reference]))
if stop == "rows":
    die()
removal.delete_from_index(archive, index)
if stop == "index":
    die()
removal.delete_originals(archive)
raise SystemExit("not killed")
"""


@pytest.mark.parametrize(("stop", "repair"), [
    ("transaction", "remove"), ("rows", "add"), ("index", "reindex"), ("blobs", "remove"),
])
def test_a_removal_killed_between_steps_is_finished_by_the_next_command(store: Path, tmp_path: Path, stop: str,
                                                                        repair: str) -> None:
    db = store
    bundle = doc_id_of(db, "bundle.zip")
    tree = {bundle} | descendants(db, bundle)
    tree_shas = {row[0] for row in rows(db, "SELECT sha256 FROM archive_documents WHERE list_contains(?, doc_id)",
                                        [sorted(tree)])}
    note_sha = hashlib.sha256(NOTE).hexdigest()
    before_rows = rows(db, "SELECT count(*) FROM archive_documents")[0][0]
    process = subprocess.run([sys.executable, "-c", KILLED, str(db), bundle, stop], capture_output=True, timeout=120)
    assert process.returncode == -signal.SIGKILL, process.stderr.decode()

    journal = rows(db, "SELECT doc_id FROM archive_removed")
    remaining = rows(db, "SELECT count(*) FROM archive_documents WHERE list_contains(?, doc_id)", [sorted(tree)])
    if stop == "transaction":
        # Nothing committed: the whole tree is still there, searchable, its originals whole.
        assert remaining == [(len(tree),)] and journal == []
        assert search(db, "deep-member-zz77")["total"] == 1
        assert tree_shas <= kept_originals(db)
        return
    # Committed: no row of the tree, and the journal names every document to finish.
    assert remaining == [(0,)] and {row[0] for row in journal} == tree
    # An index entry whose row is gone is never shown, and search does not fail on it.
    found = search(db, "deep-member-zz77")
    assert found["hits"] == []
    if stop == "rows":
        assert found["total"] == 1 and index_count(db) == before_rows
    else:
        assert found["total"] == 0 and index_count(db) == before_rows - len(tree)
    on_disk = kept_originals(db)
    if stop == "blobs":
        assert not (tree_shas - {note_sha}) & on_disk
    else:
        assert tree_shas <= on_disk

    if repair == "remove":
        report = remove(db)
        assert report["documents"] == 0
        assert set(report["deleted_blobs"]) == (set() if stop == "blobs" else tree_shas - {note_sha})
    elif repair == "add":
        other = tmp_path / "other"
        other.mkdir()
        (other / "later.txt").write_text("добавлено позже later-zz12", encoding="utf-8")
        assert add(db, str(other), "--collection", "open", workers=1)["added"] == 1
    else:
        code, _, err = run("archive", "reindex", "--db", str(db))
        assert code == 0, err
    assert rows(db, "SELECT count(*) FROM archive_removed") == [(0,)]
    assert kept_originals(db) == {row[0] for row in rows(db, "SELECT sha256 FROM archive_documents")}
    assert note_sha in kept_originals(db)  # the public copy still holds it
    assert index_count(db) == rows(db, "SELECT count(*) FROM archive_documents")[0][0]
    assert search(db, "deep-member-zz77")["total"] == 0

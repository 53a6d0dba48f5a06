"""The archive's full-text index: an embedded Tantivy index in one directory, no server.

Fields and analysers: index_schema.py and text_analysis.py; the query language: query.py;
why Tantivy and how it scales out: docs/archive.md, "Search" and "Scale"."""

from __future__ import annotations

import calendar
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Any

import tantivy

from censorwatch.archive.entities import normalise_entity_value
from censorwatch.archive.index_schema import (
    BODY,
    COLLECTION,
    DATE,
    DOC_ID,
    ENTITY,
    LANGUAGE,
    PRIVATE,
    SCHEMA_VERSION,
    IndexedDocument,
    build_schema,
    entity_key,
    register_analyzers,
    to_datetime,
    to_document,
)
from censorwatch.archive.model import ENTITY_TYPES
from censorwatch.archive.query import QueryError, parse_query
from censorwatch.archive.query_build import Highlights, build_query
from censorwatch.archive.snippets import SnippetMaker

__all__ = [
    "ArchiveIndex", "IndexBusyError", "IndexFormatError", "IndexedDocument", "QueryError", "SearchHit", "SearchResults"
]

_MARKER = "censorwatch-archive-index.json"
_WRITER_HEAP = 128_000_000
MAX_LIMIT = 1000


class IndexFormatError(RuntimeError):
    """The directory holds an index this version cannot read: rebuild it from the store."""


class IndexBusyError(RuntimeError):
    """Another writer (in this process or another) holds the index: one writer at a time."""


@dataclass(frozen=True)
class SearchHit:
    doc_id: str
    score: float
    snippet: str
    highlights: tuple[tuple[int, int], ...]  # character ranges in `snippet` to highlight


@dataclass(frozen=True)
class SearchResults:
    total: int
    hits: tuple[SearchHit, ...]


def _check_marker(directory: Path, *, create: bool) -> None:
    marker = directory / _MARKER
    if marker.exists():
        found = json.loads(marker.read_text(encoding="utf-8")).get("schema")
        if found != SCHEMA_VERSION:
            raise IndexFormatError(
                f"{directory} holds an archive index of schema {found}, this version reads {SCHEMA_VERSION}: rebuild it"
            )
    elif create:
        marker.write_text(json.dumps({"schema": SCHEMA_VERSION}) + "\n", encoding="utf-8")
    else:
        raise IndexFormatError(f"{directory} is not a censorwatch archive index")


class ArchiveIndex:
    """Add, replace, delete and search archive documents. Readers may run in other processes
    while one writer adds; a writable index holds tantivy's writer lock until closed."""

    def __init__(self, directory: Path, *, writable: bool = False) -> None:
        directory = Path(directory)
        self.schema = build_schema()
        exists = directory.is_dir() and tantivy.Index.exists(str(directory))
        if not exists and not writable:
            raise FileNotFoundError(f"no archive index at {directory}")
        if writable:
            directory.mkdir(parents=True, exist_ok=True)
        _check_marker(directory, create=not exists)
        self._index = tantivy.Index(self.schema, path=str(directory), reuse=True)
        register_analyzers(self._index)
        self._writer = self._open_writer(directory) if writable else None

    def _open_writer(self, directory: Path) -> tantivy.IndexWriter:
        try:
            return self._index.writer(_WRITER_HEAP)
        except ValueError as error:
            # tantivy reports its lock file as a ValueError; callers catch ValueError for bad queries.
            if "LockBusy" in str(error):
                raise IndexBusyError(f"another process is writing the archive index at {directory}") from error
            raise

    def __enter__(self) -> ArchiveIndex:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.wait_merging_threads()

    def _require_writer(self) -> tantivy.IndexWriter:
        if self._writer is None:
            raise PermissionError("the archive index was opened read-only (writable=False)")
        return self._writer

    def add(self, documents: Iterable[IndexedDocument]) -> int:
        """Index `documents`, replacing any with the same doc_id; one commit at the end, so a
        failure part-way leaves the index as it was."""
        writer = self._require_writer()
        added = 0
        try:
            for document in documents:
                writer.delete_documents_by_term(DOC_ID, document.doc_id)
                writer.add_document(to_document(document))
                added += 1
            writer.commit()
        except BaseException:
            writer.rollback()
            raise
        self._index.reload()
        return added

    def delete(self, doc_ids: Iterable[str]) -> None:
        writer = self._require_writer()
        for doc_id in doc_ids:
            writer.delete_documents_by_term(DOC_ID, doc_id)
        writer.commit()
        self._index.reload()

    def count(self) -> int:
        """Documents in the index, private ones included."""
        return int(self._index.searcher().num_docs)

    def _filters(
        self, language: str | None, collection: str | None, since: date | None, until: date | None,
        entity: str | None, include_private: bool,
    ) -> list[tuple[tantivy.Occur, tantivy.Query]]:
        required = []
        if language:
            required.append(tantivy.Query.term_query(self.schema, LANGUAGE, language))
        if collection:
            required.append(tantivy.Query.term_query(self.schema, COLLECTION, collection))
        if since or until:
            if since and until and since > until:
                raise QueryError(f"since ({since}) is after until ({until})")
            required.append(tantivy.Query.range_query(
                self.schema, DATE, tantivy.FieldType.Date,
                to_datetime(since) if since else None, to_datetime(until) if until else None,
            ))
        if entity:
            required.append(tantivy.Query.term_query(self.schema, ENTITY, _entity_filter(entity)))
        # Filters choose documents; they must not reorder them, hence no score of their own.
        clauses = [(tantivy.Occur.Must, tantivy.Query.const_score_query(query, 0.0)) for query in required]
        if not include_private:
            clauses.append((tantivy.Occur.MustNot, tantivy.Query.term_query(self.schema, PRIVATE, True)))
        return clauses

    def search(
        self, query: str, *, language: str | None = None, collection: str | None = None,
        since: date | None = None, until: date | None = None, entity: str | None = None,
        include_private: bool = False, limit: int = 20, offset: int = 0,
    ) -> SearchResults:
        """Documents matching `query` (query.py's language; blank: every document the filters
        allow), best first, each with its best passage. Raises QueryError for a query or filter
        that cannot be read."""
        if not 1 <= limit <= MAX_LIMIT or offset < 0:
            raise QueryError(f"limit must be 1 to {MAX_LIMIT} and offset at least 0 (got {limit}, {offset})")
        matched, highlights = self._matched(query)
        filters = self._filters(language, collection, since, until, entity, include_private)
        clauses = [(tantivy.Occur.Must, matched), *filters]
        searcher = self._searcher()
        result = searcher.search(tantivy.Query.boolean_query(clauses), limit=limit, offset=offset, count=True)
        hits = []
        snippets = SnippetMaker(highlights)
        for score, address in result.hits:
            stored = searcher.doc(address)
            body = bytes(stored.get_first(BODY) or b"").decode("utf-8")
            snippet = snippets.snippet(body)
            hits.append(SearchHit(str(stored.get_first(DOC_ID)), float(score), snippet.text, snippet.highlights))
        # `count` exists at run time (count=True above); the binding's stub does not declare it.
        return SearchResults(int(result.count), tuple(hits))  # type: ignore[attr-defined]

    def facet_counts(
        self, query: str, facets: Mapping[str, Iterable[str]], *, language: str | None = None,
        collection: str | None = None, since: date | None = None, until: date | None = None,
        entity: str | None = None, include_private: bool = False,
    ) -> dict[str, dict[str, int]]:
        """For each facet ("collection", "language" or "year") and each value given for it, how
        many documents match `query` and the filters with that value chosen in place of the
        facet's own filter (a year replaces since and until), so that the counts beside a chosen
        value still show the others. Values matching nothing are left out. Counts only, no
        snippets: each collection or language value costs one count of the query (a term query
        on 10,000 documents well under 1 ms, a phrase matching 7,600 of them about 5 ms); the
        years take one aggregation whatever their number."""
        matched, _ = self._matched(query)
        searcher = self._searcher()
        chosen: dict[str, Any] = {"language": language, "collection": collection, "since": since, "until": until}
        counts: dict[str, dict[str, int]] = {}
        for facet, values in facets.items():
            if facet == "year":
                years = [str(value) for value in values]
                filters = self._filters(language, collection, None, None, entity, include_private)
                counts[facet] = _year_counts(searcher, tantivy.Query.boolean_query(
                    [(tantivy.Occur.Must, matched), *filters]), years) if years else {}
                continue
            counts[facet] = {}
            for value in values:
                filters = self._filters(**{**chosen, **_facet_choice(facet, value)}, entity=entity,
                                        include_private=include_private)
                found = searcher.search(tantivy.Query.boolean_query([(tantivy.Occur.Must, matched), *filters]),
                                        limit=1, count=True)
                count = int(found.count)  # type: ignore[attr-defined]
                if count:
                    counts[facet][value] = count
        return counts

    def _matched(self, query: str) -> tuple[tantivy.Query, Highlights]:
        node = parse_query(query)
        if node is None:
            return tantivy.Query.all_query(), Highlights()
        return build_query(self.schema, node)

    def _searcher(self) -> tantivy.Searcher:
        if self._writer is None:
            # Another process may have committed since the last search. Cheap when it has not
            # (0.03 ms on 10,000 documents): the reader opens only segments it does not hold.
            self._index.reload()
        return self._index.searcher()


def _facet_choice(facet: str, value: str) -> dict[str, Any]:
    if facet in ("collection", "language"):
        return {facet: value}
    raise QueryError(f"no facet {facet!r}: collection, language or year")


def _year_counts(searcher: tantivy.Searcher, query: tantivy.Query, years: list[str]) -> dict[str, int]:
    """One pass over the matches (a range aggregation on the date's fast field) instead of a count
    per year: for a phrase matching 7,600 of 10,000 documents, 26 counts took 63 ms, this 1.2 ms."""
    ranges = []
    for year in years:
        if not year.isdigit():
            raise QueryError(f"year facet value {year!r} is not a year")
        ranges.append({"key": year, "from": _nanoseconds(int(year)), "to": _nanoseconds(int(year) + 1)})
    found = searcher.aggregate(query, {"years": {"range": {"field": DATE, "ranges": ranges}}})
    wanted = set(years)
    return {str(bucket["key"]): int(bucket["doc_count"]) for bucket in found["years"]["buckets"]
            if bucket["key"] in wanted and bucket["doc_count"]}


def _nanoseconds(year: int) -> float:
    # Tantivy's range aggregation takes a date field's bounds in nanoseconds since 1970 (UTC, as
    # to_datetime's naive dates are indexed), although its histograms answer in milliseconds.
    return calendar.timegm((year, 1, 1, 0, 0, 0)) * 1e9


def _entity_filter(entity: str) -> str:
    entity_type, separator, value = entity.partition(":")
    if not separator or not value.strip() or entity_type not in ENTITY_TYPES:
        raise QueryError(f"entity filter {entity!r} must be TYPE:VALUE with TYPE one of {', '.join(ENTITY_TYPES)}")
    return entity_key(entity_type, normalise_entity_value(entity_type, value))

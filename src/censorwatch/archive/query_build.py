"""A parsed query (query.py) as a tantivy Query over the index's fields (index_schema.py), and the
terms a snippet should highlight.

A word is searched in every language's field at once (a disjunction: the best field counts), so
a Russian word form matches through its stem and a Chinese word through its segmentation; words
side by side (a phrase, or a word the analysers split: "e-mail") as the pairs they make
(text_analysis.py: a two-word phrase is one term, a longer one a phrase of its pairs); an
identifier only in the exact field; a word that names an entity ("РКН", "Roskomnadzor") also
finds the documents where that entity was recognised, however they spell it."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

import tantivy

from censorwatch.archive.entities import find_entities, normalise_entity_value
from censorwatch.archive.index_schema import (
    ENTITY,
    HAN_PAIRS,
    IDENT,
    TEXT_EN,
    TEXT_RU,
    TEXT_ZH,
    WORD_PAIRS,
    entity_key,
)
from censorwatch.archive.model import Entity
from censorwatch.archive.query import And, EntityRef, Identifier, Node, Not, Or, Word
from censorwatch.archive.text_analysis import (
    ENGLISH,
    RUSSIAN,
    chinese_phrases,
    has_han,
    identifier_key,
    pair,
    pair_keys,
    word_terms,
)

_MUST = tantivy.Occur.Must
_SHOULD = tantivy.Occur.Should
_MUST_NOT = tantivy.Occur.MustNot
_WORD_FIELDS = ((TEXT_RU, RUSSIAN), (TEXT_EN, ENGLISH))
# Exact entity and identifier matches weigh more than a shared word: they name the thing itself.
_EXACT_BOOST = 2.0


@dataclass
class Highlights:
    """Index terms of the query's positive leaves, by the analyser that produced them."""

    words: dict[str, set[str]] = field(default_factory=lambda: {RUSSIAN: set(), ENGLISH: set()})
    chinese: set[str] = field(default_factory=set)  # runs of Han characters, found as written
    identifiers: set[str] = field(default_factory=set)


def _any(queries: list[tantivy.Query]) -> tantivy.Query | None:
    if not queries:
        return None
    return queries[0] if len(queries) == 1 else tantivy.Query.boolean_query([(_SHOULD, query) for query in queries])


def _all(queries: list[tantivy.Query]) -> tantivy.Query | None:
    if not queries:
        return None
    return queries[0] if len(queries) == 1 else tantivy.Query.boolean_query([(_MUST, query) for query in queries])


def _without(query: tantivy.Query) -> tantivy.Query:
    return tantivy.Query.boolean_query([(_MUST, tantivy.Query.all_query()), (_MUST_NOT, query)])


def _whole_entities(text: str) -> list[Entity]:
    return [entity for entity in find_entities(text) if entity.start == 0 and entity.end == len(text)]


class QueryBuilder:
    def __init__(self, schema: tantivy.Schema) -> None:
        self.schema = schema
        self.highlights = Highlights()
        self._negated = 0

    def build(self, node: Node) -> tantivy.Query | None:
        if isinstance(node, And):
            return self._and(node)
        if isinstance(node, Or):
            alternatives = [
                self._negation(item.node) if isinstance(item, Not) else self.build(item) for item in node.nodes
            ]
            return _any([query for query in alternatives if query is not None])
        if isinstance(node, Not):
            return self._negation(node.node)
        if isinstance(node, Identifier):
            return self._identifier(node.text)
        if isinstance(node, EntityRef):
            value = normalise_entity_value(node.type, node.value)
            self._highlight_identifier(value.lower())
            return self._exact(ENTITY, entity_key(node.type, value))
        # A phrase and a word differ only in how many words they hold: both must stand together.
        return self._text(node.text, prefix=isinstance(node, Word) and node.prefix)

    def _and(self, node: And) -> tantivy.Query | None:
        required, excluded = [], []
        for item in node.nodes:
            if isinstance(item, Not):
                self._negated += 1
                query = self.build(item.node)
                self._negated -= 1
                if query is not None:
                    excluded.append(query)
            elif (query := self.build(item)) is not None:
                required.append(query)
        if not required and not excluded:
            return None
        clauses = [(_MUST, query) for query in required or [tantivy.Query.all_query()]]
        return tantivy.Query.boolean_query(clauses + [(_MUST_NOT, query) for query in excluded])

    def _negation(self, node: Node) -> tantivy.Query | None:
        self._negated += 1
        query = self.build(node)
        self._negated -= 1
        return _without(query) if query is not None else None

    def _exact(self, field_name: str, value: str) -> tantivy.Query:
        return tantivy.Query.boost_query(tantivy.Query.term_query(self.schema, field_name, value), _EXACT_BOOST)

    def _highlight_identifier(self, key: str) -> None:
        if not self._negated:
            self.highlights.identifiers.add(key)

    def _entities_named(self, text: str) -> list[tantivy.Query]:
        """Entities the whole of `text` names, as exact queries on the entity field."""
        return [self._exact(ENTITY, entity_key(entity.type, entity.value)) for entity in _whole_entities(text)]

    def _identifier(self, text: str) -> tantivy.Query | None:
        keys = {identifier_key(text)}
        keys.update(entity.value.lower() for entity in _whole_entities(text))
        for key in keys:
            self._highlight_identifier(key)
        return _any([self._exact(IDENT, key) for key in sorted(keys)] + self._entities_named(text))

    def _words(self, text: str, *, prefix: bool) -> tantivy.Query | None:
        """`text`'s words side by side: in every word field (the best counting) when it is one
        word or a beginning ("блокиров*", "роскомнадзор блокиров*"), else as its pairs."""
        terms = {analyzer: word_terms(analyzer, text) for _, analyzer in _WORD_FIELDS}
        if not self._negated:
            # Both analysers' terms, whichever fields are searched: the English analysis of a
            # Russian word is the word as typed, and snippets prefer the passage that has it.
            for analyzer, found in terms.items():
                self.highlights.words[analyzer].update(found)
        if len(terms[RUSSIAN]) > 1 and not prefix:
            return _side_by_side(self.schema, WORD_PAIRS, list(enumerate(pair_keys(text))))
        per_field = [
            query
            for field_name, analyzer in _WORD_FIELDS
            if (query := self._field_words(field_name, terms[analyzer], text, prefix=prefix)) is not None
        ]
        return tantivy.Query.disjunction_max_query(per_field) if len(per_field) > 1 else _any(per_field)

    def _field_words(self, field_name: str, terms: list[str], text: str, *, prefix: bool) -> tantivy.Query | None:
        if not terms:
            return None
        if not prefix:
            return tantivy.Query.term_query(self.schema, field_name, terms[0])
        if len(terms) > 1:
            return tantivy.Query.phrase_prefix_query(self.schema, field_name, list(terms))
        lowered = text.lower()
        # The stem of a word's beginning is a prefix of the stems of its completions; the
        # beginning itself may not be (stemmers rewrite endings, ё to е).
        start = terms[0] if lowered.startswith(terms[0]) else lowered
        return tantivy.Query.regex_query(self.schema, field_name, f"{start}.*")

    def _chinese(self, text: str) -> tantivy.Query | None:
        alternatives = []
        for pieces in chinese_phrases(text):
            if not self._negated:
                # The whole run, not its pieces: a phrase's words apart are no match to show.
                self.highlights.chinese.add("".join(word for _, word in pieces))
            if len(pieces) == 1:
                alternatives.append(tantivy.Query.term_query(self.schema, TEXT_ZH, pieces[0][1]))
            else:
                alternatives.append(_side_by_side(self.schema, HAN_PAIRS, pieces))
        return _any(alternatives)

    def _text(self, text: str, *, prefix: bool) -> tantivy.Query | None:
        words = self._words(text, prefix=prefix)
        chinese = self._chinese(text) if has_han(text) else None
        matched = _all([query for query in (words, chinese) if query is not None])
        named = [] if prefix else self._entities_named(text)
        return _any([query for query in [matched, *named] if query is not None])


def _side_by_side(schema: tantivy.Schema, field_name: str, words: list[tuple[int, str]]) -> tantivy.Query:
    """Two or more (position, word) side by side, as the pairs `field_name` indexes: one term
    for two words, a phrase of pairs at the first words' positions for more."""
    pairs: list[str | tuple[int, str]] = [
        (position, pair(word, following)) for (position, word), (_, following) in pairwise(words)
    ]
    if len(words) == 2:
        return tantivy.Query.term_query(schema, field_name, pair(words[0][1], words[1][1]))
    return tantivy.Query.phrase_query(schema, field_name, pairs)


def build_query(schema: tantivy.Schema, node: Node) -> tuple[tantivy.Query, Highlights]:
    builder = QueryBuilder(schema)
    query = builder.build(node)
    # Every leaf analysed to nothing (punctuation the parser kept inside a phrase): no match.
    return (query if query is not None else tantivy.Query.empty_query()), builder.highlights

"""A parsed query (query.py) as a tantivy Query over the index's fields (index_schema.py), and the
terms a snippet should highlight.

A word is searched in every language's field at once (a disjunction: the best field counts), a
phrase in the fields of its script, so a Russian word form matches through its stem and a
Chinese word through its segmentation; an identifier only in the exact field; a word that names
an entity ("РКН", "Roskomnadzor") also finds the documents where that entity was recognised,
however they spell it.

Why a phrase without Latin letters needs only text_ru (and one without Cyrillic only text_en):
both fields index the same text with the same tokenizer, so their tokens stand at the same
positions, and both lower-case before stemming. The English stemmer only rewrites Latin
suffixes and keeps a Latin letter in every token that has one, so a token without Latin letters
is its own lower-case form in text_en; a document that matches such a phrase in text_en holds
those very forms there, and so their Russian stems in text_ru. The text_en phrase only ever
found a subset of text_ru's documents, for a second phrase scorer (40 % of a Russian phrase's
engine time, docs/archive.md "Where the time goes"); what it still did was rank the phrase as
typed above its other forms. The same holds the other way round: the Russian stemmer leaves a
token without Cyrillic letters as it is and keeps a Cyrillic letter in every token that has
one."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import tantivy

from censorwatch.archive.entities import find_entities, normalise_entity_value
from censorwatch.archive.index_schema import ENTITY, IDENT, TEXT_EN, TEXT_RU, TEXT_ZH, entity_key
from censorwatch.archive.model import Entity
from censorwatch.archive.query import And, EntityRef, Identifier, Node, Not, Or, Word
from censorwatch.archive.text_analysis import (
    ENGLISH,
    RUSSIAN,
    chinese_phrases,
    has_han,
    identifier_key,
    word_terms,
)

_MUST = tantivy.Occur.Must
_SHOULD = tantivy.Occur.Should
_MUST_NOT = tantivy.Occur.MustNot
_WORD_FIELDS = ((TEXT_RU, RUSSIAN), (TEXT_EN, ENGLISH))
# In analysed (lower-cased) terms: the letters the English stemmer rewrites, and those the Russian
# one may (the Cyrillic blocks in full, wider than its alphabet: a doubt keeps both fields).
_LATIN = re.compile("[a-z]")
_CYRILLIC = re.compile("[\u0400-\u052f\u1c80-\u1c8f\u2de0-\u2dff\ua640-\ua69f]")
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
        """`text`'s words in the fields that can match them (_fields_for), side by side in each,
        the best field counting when there are two."""
        terms = {analyzer: word_terms(analyzer, text) for _, analyzer in _WORD_FIELDS}
        if not self._negated:
            # Both analysers' terms, whichever fields are searched: the English analysis of a
            # Russian word is the word as typed, and snippets prefer the passage that has it.
            for analyzer, found in terms.items():
                self.highlights.words[analyzer].update(found)
        per_field = [
            query
            for field_name, analyzer in _fields_for(terms, prefix=prefix)
            if (query := self._field_words(field_name, terms[analyzer], text, prefix=prefix)) is not None
        ]
        return tantivy.Query.disjunction_max_query(per_field) if len(per_field) > 1 else _any(per_field)

    def _field_words(self, field_name: str, terms: list[str], text: str, *, prefix: bool) -> tantivy.Query | None:
        if not terms:
            return None
        if prefix:
            if len(terms) > 1:
                return tantivy.Query.phrase_prefix_query(self.schema, field_name, list(terms))
            lowered = text.lower()
            # The stem of a word's beginning is a prefix of the stems of its completions; the
            # beginning itself may not be (stemmers rewrite endings, ё to е).
            start = terms[0] if lowered.startswith(terms[0]) else lowered
            return tantivy.Query.regex_query(self.schema, field_name, f"{start}.*")
        if len(terms) == 1:
            return tantivy.Query.term_query(self.schema, field_name, terms[0])
        # A phrase, or a word the analyser splits ("e-mail", "Николаевск-на-Амуре"): side by side.
        return tantivy.Query.phrase_query(self.schema, field_name, list(terms))

    def _chinese(self, text: str) -> tantivy.Query | None:
        alternatives = []
        for pieces in chinese_phrases(text):
            if not self._negated:
                # The whole run, not its pieces: a phrase's words apart are no match to show.
                self.highlights.chinese.add("".join(word for _, word in pieces))
            if len(pieces) == 1:
                alternatives.append(tantivy.Query.term_query(self.schema, TEXT_ZH, pieces[0][1]))
            else:
                alternatives.append(tantivy.Query.phrase_query(self.schema, TEXT_ZH, [(o, w) for o, w in pieces]))
        return _any(alternatives)

    def _text(self, text: str, *, prefix: bool) -> tantivy.Query | None:
        words = self._words(text, prefix=prefix)
        chinese = self._chinese(text) if has_han(text) else None
        matched = _all([query for query in (words, chinese) if query is not None])
        named = [] if prefix else self._entities_named(text)
        return _any([query for query in [matched, *named] if query is not None])


def _fields_for(terms: dict[str, list[str]], *, prefix: bool) -> tuple[tuple[str, str], ...]:
    """The word fields to search for a text analysed to `terms` (by analyser). Words side by side
    (a phrase, or a word the analysers split): text_ru alone when no term has a Latin letter,
    text_en alone when none has a Cyrillic one, else both (see the module's note).

    A single word keeps both: one more term query costs 0.05 ms, and the unstemmed field is what
    ranks the form as typed first ("сайта" before "сайтом"; text_ru alone reordered the first 20
    hits of 169 of bench_archive's 250 Russian terms). A beginning ("блокиров*") keeps both: the
    regex over text_en's unstemmed forms finds every word that starts as typed when a stemmer
    cuts into the beginning."""
    if prefix or len(terms[RUSSIAN]) < 2:
        return _WORD_FIELDS
    if not any(_LATIN.search(term) for term in terms[ENGLISH]):
        return ((TEXT_RU, RUSSIAN),)
    if not any(_CYRILLIC.search(term) for term in terms[RUSSIAN]):
        return ((TEXT_EN, ENGLISH),)
    return _WORD_FIELDS


def build_query(schema: tantivy.Schema, node: Node) -> tuple[tantivy.Query, Highlights]:
    builder = QueryBuilder(schema)
    query = builder.build(node)
    # Every leaf analysed to nothing (punctuation the parser kept inside a phrase): no match.
    return (query if query is not None else tantivy.Query.empty_query()), builder.highlights

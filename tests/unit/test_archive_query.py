"""The query language's parser: what each piece of syntax becomes, and a clear QueryError for
every malformed query (it never reaches tantivy's own parser)."""

from __future__ import annotations

import contextlib
import re

import pytest
import tantivy
from hypothesis import given, settings
from hypothesis import strategies as st

from censorwatch.archive.index_schema import build_schema
from censorwatch.archive.query import (
    And,
    EntityRef,
    Identifier,
    Not,
    Or,
    Phrase,
    QueryError,
    Word,
    parse_query,
)
from censorwatch.archive.query_build import build_query
from censorwatch.archive.text_analysis import ENGLISH, RUSSIAN, word_terms


@pytest.mark.parametrize(
    ("query", "tree"),
    [
        ("блокировка", Word("блокировка")),
        ("Роскомнадзора,", Word("Роскомнадзора")),
        ("网络安全法", Word("网络安全法")),
        ("блокиров*", Word("блокиров", prefix=True)),
        ('"единый реестр"', Phrase("единый реестр")),
        ("«единый   реестр»", Phrase("единый реестр")),
        ("“网络 运营者”", Phrase("网络 运营者")),
        ("2-1066/2016", Identifier("2-1066/2016")),
        ("№2-1066/2016", Identifier("2-1066/2016")),
        ("451555-РИ", Identifier("451555-РИ")),
        ("27-31-2015/Ид1093-15", Identifier("27-31-2015/Ид1093-15")),
        ("[eais#560867]", Identifier("eais#560867")),
        ("zapret-info@rkn.gov.ru", Identifier("zapret-info@rkn.gov.ru")),
        ("87.226.213.147", Identifier("87.226.213.147")),
        ("eais.rkn.gov.ru.", Identifier("eais.rkn.gov.ru")),
        ("http://pontorez.com/node/768", Identifier("http://pontorez.com/node/768")),
        ("e-mail", Word("e-mail")),  # joined letters only: a word, not an identifier
        ("notification.rtf", Word("notification.rtf")),
        ("law:149-ФЗ", EntityRef("law", "149-ФЗ")),
        ("domain:pontorez.com", EntityRef("domain", "pontorez.com")),
        ("url:http://pontorez.com/node/768", EntityRef("url", "http://pontorez.com/node/768")),
        ("a b", And((Word("a"), Word("b")))),
        ("a AND b", And((Word("a"), Word("b")))),
        ("a OR b", Or((Word("a"), Word("b")))),
        ("a and b", And((Word("a"), Word("and"), Word("b")))),  # lower case: words
        ("NOT a", Not(Word("a"))),
        ("-a", Not(Word("a"))),
        ('-"a b"', Not(Phrase("a b"))),
        ("a -b", And((Word("a"), Not(Word("b"))))),
        ("a OR b c", Or((Word("a"), And((Word("b"), Word("c")))))),  # AND binds tighter
        ("(a OR b) c", And((Or((Word("a"), Word("b"))), Word("c")))),
        ("（a OR b）", Or((Word("a"), Word("b")))),
        ("NOT (a OR b)", Not(Or((Word("a"), Word("b"))))),
        ("a — b", And((Word("a"), Word("b")))),  # lone punctuation is dropped
        ("", None),
        ("   ", None),
    ],
)
def test_parse(query: str, tree: object) -> None:
    assert parse_query(query) == tree


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ('"unclosed phrase', "unclosed quote"),
        ("«unclosed", "unclosed quote"),
        ("(a OR b", "never closed"),
        ("a OR b)", "unexpected \\)"),
        (")", "unexpected \\)"),
        ("()", "empty parentheses"),
        ("AND a", "AND at character 1 needs a term before it"),
        ("a AND", "AND at character 3 needs a term after it"),
        ("a OR", "OR at character 3 needs a term after it"),
        ("a OR OR b", "OR at character 3 needs a term after it"),
        ("NOT", "NOT at character 1 needs a term after it"),
        ("a NOT", "NOT at character 3 needs a term after it"),
        ('""', "empty phrase"),
        ("domain:", "needs a value"),
        ("a*", "two letters before \\*"),
        ("*", "two letters before \\*"),
        ("!!! ...", "only punctuation"),
        ("(" * 20 + "a" + ")" * 20, "nested deeper"),
        ("a " * 70, "more than 64 terms"),
        ("a" * 1001, "longer than 1000"),
    ],
)
def test_malformed_queries_raise_query_error(query: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        parse_query(query)


def test_query_error_is_a_value_error() -> None:
    assert issubclass(QueryError, ValueError)


@given(st.text(alphabet=st.sampled_from(list('ab "()«»-*:OR AND NOT 2/1 law:'))))
@settings(max_examples=500, deadline=None)
def test_any_input_parses_or_raises_query_error(query: str) -> None:
    with contextlib.suppress(QueryError):
        parse_query(query)


# --- query_build: the fields a word is searched in ----------------------------------------------


def _fields_in(schema: tantivy.Schema, query: tantivy.Query) -> set[str]:
    """The fields a built query reads, from its debug form ("field=5" in a term, "field:
    Field(5)" in a phrase or a regex)."""
    from censorwatch.archive.index_schema import HAN_PAIRS, TEXT_EN, TEXT_RU, TEXT_ZH, WORD_PAIRS

    names = {}
    for name in (TEXT_RU, TEXT_EN, TEXT_ZH, WORD_PAIRS, HAN_PAIRS):
        number = re.search(r"field=(\d+)", repr(tantivy.Query.term_query(schema, name, "x")))
        assert number is not None
        names[number.group(1)] = name
    return {names[number] for number in re.findall(r"field(?:=|: Field\()(\d+)", repr(query)) if number in names}


@pytest.mark.parametrize(
    ("query", "fields", "either"),
    [
        # Words side by side: their pairs, whatever the script.
        ('"единый реестр"', {"word_pairs"}, False),
        ('"Единого реестра доменных имён"', {"word_pairs"}, False),
        ('"1066 страниц"', {"word_pairs"}, False),
        ("Николаевск-на-Амуре", {"word_pairs"}, False),  # a word the analysers split: side by side
        ('"Unified register"', {"word_pairs"}, False),
        ("e-mail", {"word_pairs"}, False),
        ('"закон DMCA"', {"word_pairs"}, False),
        # One word: both fields, the unstemmed one ranking the form as typed first (and cheap).
        ("блокировка", {"text_ru", "text_en"}, True),
        ("site", {"text_ru", "text_en"}, True),
        ("1066", {"text_ru", "text_en"}, True),
        ("блокирoвка", {"text_ru", "text_en"}, True),  # a Latin o inside a Russian word
        ("блокиров*", {"text_ru", "text_en"}, True),  # a beginning: the words as typed, too
        # Chinese: one word as itself, several as their pairs, for either segmentation of the run.
        ("网络安全 реестр", {"text_ru", "text_en", "text_zh", "han_pairs"}, True),
        ("网络安全法", {"han_pairs"}, False),  # a Chinese word of several: their pairs
        ('"网络安全 единый реестр"', {"word_pairs", "text_zh", "han_pairs"}, False),
    ],
)
def test_words_are_searched_in_the_fields_of_their_script(query: str, fields: set[str], either: bool) -> None:
    schema = build_schema()
    node = parse_query(query)
    assert node is not None
    built, _ = build_query(schema, node)
    assert _fields_in(schema, built) == fields
    assert ("DisjunctionMaxQuery" in repr(built)) == either


@pytest.mark.parametrize(
    ("query", "pairs"),
    [
        ('"единый реестр"', ["един_реестр"]),
        ('"Единого реестра доменных имён"', ["един_реестр", "реестр_домен", "домен_им"]),
        ('"закон DMCA"', ["закон_dmca"]),
        ('"Twitter получил notices"', ["twitter_получ", "получ_notic"]),  # each word its own stem
        ('"网络安全法"', ["网络安全_法", "网络_安全", "安全_法"]),  # jieba's cut, and the finest cover
    ],
)
def test_phrases_become_pairs_of_stems(query: str, pairs: list[str]) -> None:
    node = parse_query(query)
    assert node is not None
    built, _ = build_query(build_schema(), node)
    assert re.findall(r'"([^"]*_[^"]*)"', repr(built)) == pairs


@pytest.mark.parametrize("query", ['"единый реестр"', "блокировка", "site", '"Unified register"', '"закон DMCA"'])
def test_highlights_keep_both_analysers_terms(query: str) -> None:
    # Snippets still weigh the words as typed (text_en's terms for a Russian word), whichever
    # fields the query searches.
    node = parse_query(query)
    assert node is not None
    _, highlights = build_query(build_schema(), node)
    text = query.strip('"')
    assert highlights.words == {RUSSIAN: set(word_terms(RUSSIAN, text)), ENGLISH: set(word_terms(ENGLISH, text))}

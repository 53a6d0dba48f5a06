"""The query language's parser: what each piece of syntax becomes, and a clear QueryError for
every malformed query (it never reaches tantivy's own parser)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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

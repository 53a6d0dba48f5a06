"""The archive's query language, parsed into a small tree (no index needed to parse).

    word            every language's form of it: блокировка finds блокировки, 网络 finds 网络安全法
    word*           words starting so
    "a phrase"      the words side by side (also «…», “…”, 「…」)
    2-1066/2016     an identifier: matched whole, never as 2, 1066 and 2016 apart
    law:149-ФЗ      documents with that entity (any ENTITY_TYPES name before the colon)
    a b             both (AND is implied; write it if you like)
    a OR b          either
    NOT a, -a       without
    ( … )           grouping

Operators are upper-case English words; in lower case, and/or/not are searched for as words.
Precedence: NOT, then AND, then OR."""

from __future__ import annotations

import re
from dataclasses import dataclass

from censorwatch.archive.model import ENTITY_TYPES
from censorwatch.archive.text_analysis import is_identifier

MAX_QUERY_CHARS = 1000
MAX_TERMS = 64
MAX_DEPTH = 16

_QUOTES = {'"': '"', "«": "»", "“": "”", "„": "“", "「": "」", "『": "』"}
_PARENS = {"(": "(", ")": ")", "（": "(", "）": ")"}
_OPERATORS = ("AND", "OR", "NOT")
_ENTITY_REF = re.compile(rf"^({'|'.join(ENTITY_TYPES)}):(.*)$", re.DOTALL)
_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)
_EDGE_PUNCTUATION = "\"'«»“”„‘’()[]{}<>.,;:!?№…、，。；：！？-‐‑‒–—―"


class QueryError(ValueError):
    """A query that cannot be parsed; the message says what is wrong and where, for the user."""


@dataclass(frozen=True)
class Word:
    text: str
    prefix: bool = False


@dataclass(frozen=True)
class Phrase:
    text: str


@dataclass(frozen=True)
class Identifier:
    text: str


@dataclass(frozen=True)
class EntityRef:
    type: str
    value: str


@dataclass(frozen=True)
class Not:
    node: Node


@dataclass(frozen=True)
class And:
    nodes: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    nodes: tuple[Node, ...]


Node = Word | Phrase | Identifier | EntityRef | Not | And | Or


@dataclass(frozen=True)
class _Token:
    kind: str  # "(", ")", "AND", "OR", "NOT", "phrase", "term"
    text: str
    position: int


def _lex(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    index = 0
    while index < len(query):
        char = query[index]
        if char.isspace():
            index += 1
        elif char in _PARENS:
            tokens.append(_Token(_PARENS[char], char, index))
            index += 1
        elif char in _QUOTES:
            end = query.find(_QUOTES[char], index + 1)
            if end < 0 and char == "„":
                end = query.find("”", index + 1)
            if end < 0:
                raise QueryError(f"unclosed quote {char} at character {index + 1}")
            tokens.append(_Token("phrase", query[index + 1 : end], index))
            index = end + 1
        else:
            end = index
            while end < len(query) and not (query[end].isspace() or query[end] in _PARENS or query[end] in _QUOTES):
                end += 1
            text = query[index:end]
            if text in _OPERATORS:
                tokens.append(_Token(text, text, index))
            elif text.startswith("-") and len(text) > 1 and text[1].isalnum():
                tokens.append(_Token("NOT", "-", index))
                tokens.append(_Token("term", text[1:], index + 1))
            elif text == "-" and end < len(query) and (query[end] in _QUOTES or query[end] in "(（"):
                tokens.append(_Token("NOT", "-", index))
            else:
                tokens.append(_Token("term", text, index))
            index = end
    return tokens


def _leaf(text: str, position: int) -> Node | None:
    reference = _ENTITY_REF.match(text)
    if reference:
        value = reference.group(2).strip(_EDGE_PUNCTUATION.replace(".", ""))
        if not value:
            raise QueryError(f"{reference.group(1)}: at character {position + 1} needs a value after the colon")
        return EntityRef(reference.group(1), value)
    if _URL.match(text):
        return Identifier(text.rstrip(_EDGE_PUNCTUATION))
    stripped = text.strip(_EDGE_PUNCTUATION)
    if stripped.endswith("*"):
        stem = stripped.rstrip("*")
        if len(stem) < 2 or not stem.replace("-", "").isalnum():
            raise QueryError(f"{text!r} at character {position + 1}: a prefix search needs two letters before *")
        return Word(stem, prefix=True)
    if not stripped:
        return None  # punctuation alone: nothing to search for
    return Identifier(stripped) if is_identifier(stripped) else Word(stripped)


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.terms = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def operand_follows(self, operator: _Token) -> None:
        following = self.peek()
        if following is None or following.kind in (")", "AND", "OR"):
            raise QueryError(f"{operator.text} at character {operator.position + 1} needs a term after it")

    def parse_or(self, depth: int) -> Node | None:
        nodes = [self.parse_and(depth)]
        while (token := self.peek()) is not None and token.kind == "OR":
            self.take()
            self.operand_follows(token)
            nodes.append(self.parse_and(depth))
        kept = tuple(node for node in nodes if node is not None)
        return kept[0] if len(kept) == 1 else Or(kept) if kept else None

    def parse_and(self, depth: int) -> Node | None:
        nodes = [self.parse_unary(depth)]
        while (token := self.peek()) is not None and token.kind not in (")", "OR"):
            if token.kind == "AND":
                self.take()
                self.operand_follows(token)
            nodes.append(self.parse_unary(depth))
        kept = tuple(node for node in nodes if node is not None)
        return kept[0] if len(kept) == 1 else And(kept) if kept else None

    def parse_unary(self, depth: int) -> Node | None:
        token = self.peek()
        if token is not None and token.kind == "NOT":
            self.take()
            self.operand_follows(token)
            operand = self.parse_unary(depth)
            return Not(operand) if operand is not None else None
        return self.parse_primary(depth)

    def parse_primary(self, depth: int) -> Node | None:
        token = self.take()
        if token.kind == "(":
            if depth >= MAX_DEPTH:
                raise QueryError(f"parentheses nested deeper than {MAX_DEPTH}")
            following = self.peek()
            if following is None:
                raise QueryError(f"parenthesis opened at character {token.position + 1} is never closed")
            if following.kind == ")":
                raise QueryError(f"empty parentheses at character {token.position + 1}")
            node = self.parse_or(depth + 1)
            closing = self.peek()
            if closing is None or closing.kind != ")":
                raise QueryError(f"parenthesis opened at character {token.position + 1} is never closed")
            self.take()
            return node
        if token.kind == ")":
            raise QueryError(f"unexpected ) at character {token.position + 1}")
        if token.kind in ("AND", "OR"):
            raise QueryError(f"{token.text} at character {token.position + 1} needs a term before it")
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise QueryError(f"more than {MAX_TERMS} terms in one query")
        if token.kind == "phrase":
            if not token.text.strip():
                raise QueryError(f"empty phrase at character {token.position + 1}")
            return Phrase(" ".join(token.text.split()))
        return _leaf(token.text, token.position)


def parse_query(query: str) -> Node | None:
    """The query's tree, or None for a blank query (every document, as the filters allow)."""
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(f"query longer than {MAX_QUERY_CHARS} characters")
    tokens = _lex(query)
    if not tokens:
        return None
    parser = _Parser(tokens)
    node = parser.parse_or(0)
    if parser.peek() is not None:
        raise QueryError(f"unexpected ) at character {parser.take().position + 1}")
    if node is None:
        raise QueryError("nothing to search for: the query holds only punctuation")
    return node

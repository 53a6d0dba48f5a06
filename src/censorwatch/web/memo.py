"""Values computed once per open store connection. While the explorer holds its read-only
connection no other process can write the file (DuckDB's lock), so whatever we derived from it
(are the aggregates fresh? the newest measurement time) stays true until the connection closes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")

_MEMO: ContextVar[dict[str, Any] | None] = ContextVar("censorwatch_store_memo", default=None)


def memoized(key: str, compute: Callable[[], T]) -> T:
    memo = _MEMO.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    value: T = memo[key]
    return value


@contextmanager
def using(memo: dict[str, Any]) -> Iterator[None]:
    token = _MEMO.set(memo)
    try:
        yield
    finally:
        _MEMO.reset(token)

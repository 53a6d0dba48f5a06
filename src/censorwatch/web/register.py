"""Register data (H7's censorwatch.store.registry) when it is installed and holds data; the
pages hide their register section and the API answers 404 "no register data" otherwise."""

from __future__ import annotations

import importlib
from datetime import date
from typing import Any, Protocol

import duckdb


class Register(Protocol):
    def has_data(self) -> bool: ...
    def snapshots(self) -> list[date]: ...
    def lookup(self, target: str, at: date | None = None) -> list[dict[str, Any]]: ...
    def diff(self, from_date: date | None = None, to_date: date | None = None) -> dict[str, Any]: ...


def register(cur: duckdb.DuckDBPyConnection) -> Register | None:
    try:
        module = importlib.import_module("censorwatch.store.registry")
    except ImportError:
        return None
    try:
        store: Register = module.RegistryStore(cur)
        return store if store.has_data() else None
    except duckdb.Error:
        # A read-only store without the register tables, or tables of another version.
        return None

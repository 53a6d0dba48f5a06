"""Register data when the store holds some: pages hide their register section and the API
answers 404 "no register data" otherwise."""

from __future__ import annotations

import duckdb

from censorwatch.store.registry import RegistryStore


def register(cur: duckdb.DuckDBPyConnection) -> RegistryStore | None:
    store = RegistryStore(cur)
    try:
        return store if store.has_data() else None
    except duckdb.Error:
        # A store whose register tables are of another version.
        return None

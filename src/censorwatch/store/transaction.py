"""One DuckDB transaction: committed when the block ends, rolled back when anything (a Ctrl-C
included) leaves it early."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress

import duckdb


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        # A COMMIT that failed has ended the transaction already: its error is the one to see.
        with suppress(duckdb.TransactionException):
            con.execute("ROLLBACK")
        raise

"""Where the archive keeps its files beside a store: `<db>.archive/originals/` (the files byte for
byte, content-addressed) and `<db>.archive/index/` (the full-text index, rebuilt from the store's
rows whenever it is behind them)."""

from __future__ import annotations

from pathlib import Path


def archive_directory(db: Path) -> Path:
    return db.with_name(db.name + ".archive")


def originals_directory(db: Path) -> Path:
    return archive_directory(db) / "originals"


def index_directory(db: Path) -> Path:
    return archive_directory(db) / "index"

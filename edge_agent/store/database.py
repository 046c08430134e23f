"""Opening the gateway's SQLite database with the settings durability depends on."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

from edge_agent.errors import StoreError
from edge_agent.store.migrations import migrate


def open_database(path: Path) -> sqlite_utils.Database:
    """Open (creating if needed) and migrate the store at ``path``.

    WAL lets the web page read while the billing service writes; ``synchronous=FULL`` makes every
    commit durable before it returns, so a pulled power plug loses nothing that was committed. The
    connection is in autocommit mode: transactions are explicit ``BEGIN IMMEDIATE`` … ``COMMIT``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA foreign_keys=ON")
        migrate(connection)
    except sqlite3.Error as error:
        raise StoreError(f"{path}: cannot open the gateway store: {error}") from error
    return sqlite_utils.Database(connection)


def open_reader(path: Path) -> sqlite_utils.Database:
    """A read-only connection for the web page and the CLI; never blocks the writer (WAL)."""
    if not path.exists():
        raise StoreError(f"{path}: no gateway store here (expected the file the agent's config names)")
    connection = sqlite3.connect(
        f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
    )
    return sqlite_utils.Database(connection)

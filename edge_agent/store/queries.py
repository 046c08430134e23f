"""Reading the store: the journal for verification and upload, and the figures the page shows."""

from __future__ import annotations

from collections.abc import Iterator

import sqlite_utils

from edge_agent.store.statements import SUM_CHARGES_THROUGH

#: Rows fetched per round trip when streaming the whole journal.
STREAM_CHUNK_ROWS = 2000


def iter_encoded_entries(
    db: sqlite_utils.Database, *, after_seq: int = 0, through_seq: int | None = None
) -> Iterator[bytes]:
    """Encoded entries after ``after_seq`` (through ``through_seq``) in seq order, in bounded chunks."""
    last, stop = after_seq, through_seq if through_seq is not None else 2**63 - 1
    while True:
        rows = db.execute(
            "SELECT seq, entry FROM journal WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
            (last, stop, STREAM_CHUNK_ROWS),
        ).fetchall()
        if not rows:
            return
        for seq, entry in rows:
            yield as_bytes(entry)
            last = seq


def encoded_batch(db: sqlite_utils.Database, *, after_seq: int, limit: int) -> list[bytes]:
    """At most ``limit`` encoded entries after ``after_seq``: one upload batch."""
    rows = db.execute(
        "SELECT entry FROM journal WHERE seq > ? ORDER BY seq LIMIT ?", (after_seq, limit)
    ).fetchall()
    return [as_bytes(row[0]) for row in rows]


def as_bytes(stored: bytes | str) -> bytes:
    """An entry column as bytes: a row rewritten as TEXT by tampering must be reported, not crash."""
    return stored.encode() if isinstance(stored, str) else bytes(stored)


def journal_length(db: sqlite_utils.Database) -> int:
    """Number of entries (equal to the last seq, since seqs have no gaps)."""
    row = db.execute("SELECT COALESCE(MAX(seq), 0) FROM journal").fetchone()
    return int(row[0])


def acknowledged_seq(db: sqlite_utils.Database) -> int:
    """The seq through which the cloud has acknowledged our journal."""
    return int(db.execute("SELECT acknowledged_seq FROM sync_state WHERE id = 1").fetchone()[0])


def unsynced_backlog(db: sqlite_utils.Database) -> int:
    """Entries written but not yet acknowledged by the cloud."""
    return journal_length(db) - acknowledged_seq(db)


def charged_through(db: sqlite_utils.Database, wallet_id: str, pocket: str, through_seq: int) -> int:
    """The cents charged to one pocket by entries up to and including ``through_seq``."""
    return int(db.execute(SUM_CHARGES_THROUGH, (wallet_id, pocket, through_seq)).fetchone()[0])

"""``quantify-edge journal verify``: the whole chain and sequence, checked from the store."""

from __future__ import annotations

from pathlib import Path

import msgspec

from edge_agent.store.database import open_reader
from edge_agent.store.journal import load_head
from edge_agent.store.queries import iter_encoded_entries
from shared.journal import GENESIS, ChainVerdict, verify_chain


def verify_store(path: Path) -> ChainVerdict:
    """Verify every entry in the store at ``path``, and that the chain ends at the stored head.

    The head (last seq and its indexed hash column) is read first, so an entry committed while the
    check runs is simply not part of this verification.
    """
    db = open_reader(path)
    try:
        head = load_head(db)
        return verify_chain(
            iter_encoded_entries(db, through_seq=head.seq),
            expected_first_seq=GENESIS.seq + 1,
            expected_prev_hash=GENESIS.hash,
            expected_last=head,
        )
    finally:
        db.conn.close()


def verdict_json(verdict: ChainVerdict) -> bytes:
    """The verdict as JSON: ``ok``, ``entries_verified``, ``head`` and the first ``problem``."""
    return msgspec.json.encode(verdict)

"""The sync client's own state in the gateway store, beside ``sync_state``.

- ``sync_config``: the configuration document applied last (its version, digest and bytes), written
  in the same transaction as its ``config_applied`` entry, so the agent restarts on exactly it.
- ``sync_push``: the push cursor: the last push batch fully applied.
- ``sync_push_command``: operator relay commands already journalled, by ``command_id``, so a push
  delivered again (after a crash before the cursor was saved) never switches a relay twice.

The tables are created by the store's migration ``0003_sync`` (``edge_agent/store/migrations.py``).
"""

from __future__ import annotations

import msgspec
import sqlite_utils

from shared.sync.gateway_api import GatewayConfigDocument

RECORD_ACK = "UPDATE sync_state SET acknowledged_seq = ?, last_sync_at = ? WHERE id = 1"
RECORD_CONFIG_VERSION = "UPDATE sync_state SET config_version = ? WHERE id = 1"
UPSERT_CONFIG_DOCUMENT = (
    "INSERT INTO sync_config (id, version, digest, document, applied_seq) VALUES (1, ?, ?, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET version = excluded.version, digest = excluded.digest, "
    "document = excluded.document, applied_seq = excluded.applied_seq"
)
RECORD_PUSH_CURSOR = "UPDATE sync_push SET cursor = ? WHERE id = 1"
RECORD_PUSH_COMMAND = "INSERT OR IGNORE INTO sync_push_command (command_id, applied_seq) VALUES (?, ?)"

_DOCUMENT_DECODER = msgspec.json.Decoder(GatewayConfigDocument)


def applied_config_version(db: sqlite_utils.Database) -> int:
    """The cloud config version this gateway runs (0 before the first document)."""
    return int(db.execute("SELECT config_version FROM sync_state WHERE id = 1").fetchone()[0])


def stored_document(db: sqlite_utils.Database) -> GatewayConfigDocument | None:
    """The configuration document applied last, or ``None`` if the cloud never sent one."""
    row = db.execute("SELECT document FROM sync_config WHERE id = 1").fetchone()
    return None if row is None else _DOCUMENT_DECODER.decode(row[0])


def push_cursor(db: sqlite_utils.Database) -> int:
    """The cursor after the last push batch fully applied."""
    return int(db.execute("SELECT cursor FROM sync_push WHERE id = 1").fetchone()[0])


def command_applied(db: sqlite_utils.Database, command_id: str) -> bool:
    """Whether an operator command from the cloud was already journalled."""
    row = db.execute("SELECT 1 FROM sync_push_command WHERE command_id = ?", (command_id,)).fetchone()
    return row is not None


def applied_pocket_terms(db: sqlite_utils.Database) -> dict[tuple[str, str], tuple[int, int]]:
    """What the gateway last applied per pocket: (cloud balance, posted-through seq)."""
    rows = db.execute(
        "SELECT wallet_id, pocket, cloud_balance_cents, posted_through_seq FROM pocket_balance"
    ).fetchall()
    return {(wallet, pocket): (int(balance), int(through)) for wallet, pocket, balance, through in rows}

"""Named, transactional schema migrations for the gateway store.

Each migration is a name and a list of statements, applied in one transaction and recorded in
``schema_migrations``; a migration that fails leaves the database exactly as it was. Migrations are
append-only like the journal: a released one is never edited, a change is a new migration.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from edge_agent.errors import StoreError

APPEND_ONLY = "journal is append-only: entries are never {}; corrections are new entries"

MIGRATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "0001_journal",
        (
            """CREATE TABLE journal (
                seq INTEGER PRIMARY KEY,
                kind TEXT NOT NULL,
                recorded_at TEXT NOT NULL,
                entry BLOB NOT NULL,
                hash TEXT NOT NULL
            )""",
            f"""CREATE TRIGGER journal_refuses_update BEFORE UPDATE ON journal
                BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY.format("updated")}'); END""",
            f"""CREATE TRIGGER journal_refuses_delete BEFORE DELETE ON journal
                BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY.format("deleted")}'); END""",
            # The sequence has no gaps: every insert must be the next number.
            """CREATE TRIGGER journal_refuses_gaps BEFORE INSERT ON journal
                WHEN NEW.seq != (SELECT COALESCE(MAX(seq), 0) + 1 FROM journal)
                BEGIN SELECT RAISE(ABORT, 'journal seq must follow the last entry without a gap'); END""",
        ),
    ),
    (
        "0002_agent_state",
        (
            # Per-meter billing state (register baseline, month-to-date, carry, policy state) as JSON.
            """CREATE TABLE meter_state (
                meter_id TEXT PRIMARY KEY,
                state TEXT NOT NULL,
                updated_seq INTEGER NOT NULL
            )""",
            # What the cloud last said each pocket holds, and through which seq it had posted our
            # charges: the two terms of the cached-balance formula.
            """CREATE TABLE pocket_balance (
                wallet_id TEXT NOT NULL,
                pocket TEXT NOT NULL,
                cloud_balance_cents INTEGER NOT NULL,
                posted_through_seq INTEGER NOT NULL,
                PRIMARY KEY (wallet_id, pocket)
            )""",
            # Every charge's cents by pocket, so "our charges after seq N" is one indexed sum.
            """CREATE TABLE charge_index (
                seq INTEGER PRIMARY KEY,
                wallet_id TEXT NOT NULL,
                pocket TEXT NOT NULL,
                amount_cents INTEGER NOT NULL
            )""",
            "CREATE INDEX charge_index_by_pocket ON charge_index (wallet_id, pocket, seq)",
            """CREATE TABLE relay_state (
                meter_id TEXT PRIMARY KEY,
                closed INTEGER,
                confirmed_at TEXT,
                command_id TEXT,
                confirmed_seq INTEGER NOT NULL
            )""",
            """CREATE TABLE open_alarm (
                meter_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                detail TEXT NOT NULL,
                raised_seq INTEGER NOT NULL,
                PRIMARY KEY (meter_id, kind)
            )""",
            """CREATE TABLE sync_state (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                acknowledged_seq INTEGER NOT NULL,
                last_sync_at TEXT,
                config_version INTEGER NOT NULL
            )""",
            "INSERT INTO sync_state (id, acknowledged_seq, config_version) VALUES (1, 0, 0)",
        ),
    ),
    (
        # The sync client's state (edge_agent/sync/store.py): the applied cloud config document, the
        # push cursor, and the operator relay commands already journalled (by command_id).
        "0003_sync",
        (
            """CREATE TABLE IF NOT EXISTS sync_config (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        version INTEGER NOT NULL,
        digest TEXT NOT NULL,
        document BLOB NOT NULL,
        applied_seq INTEGER NOT NULL
    )""",
            """CREATE TABLE IF NOT EXISTS sync_push (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        cursor INTEGER NOT NULL
    )""",
            "INSERT OR IGNORE INTO sync_push (id, cursor) VALUES (1, 0)",
            """CREATE TABLE IF NOT EXISTS sync_push_command (
        command_id TEXT PRIMARY KEY,
        applied_seq INTEGER NOT NULL
    )""",
        ),
    ),
    (
        # Credit control's own memory beyond a meter's billing state (edge_agent/billing/holds.py):
        # operators' holds on relays, which must outlive a restart, and the pockets whose
        # "waiting for a first balance" notice is journalled, so it is journalled once, not per start.
        "0004_credit_holds",
        (
            """CREATE TABLE relay_hold (
                meter_id TEXT PRIMARY KEY,
                hold TEXT NOT NULL CHECK (hold IN ('open', 'closed')),
                command_id TEXT NOT NULL,
                held_seq INTEGER NOT NULL
            )""",
            """CREATE TABLE pocket_awaiting_balance (
                wallet_id TEXT NOT NULL,
                pocket TEXT NOT NULL,
                noted_seq INTEGER NOT NULL,
                PRIMARY KEY (wallet_id, pocket)
            )""",
        ),
    ),
)


def applied_migrations(connection: sqlite3.Connection) -> list[str]:
    """Names of the migrations already applied, in order."""
    connection.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    return [row[0] for row in connection.execute("SELECT name FROM schema_migrations ORDER BY name")]


def migrate(connection: sqlite3.Connection) -> list[str]:
    """Apply every pending migration, each in its own transaction; return the names applied."""
    done = set(applied_migrations(connection))
    unknown = done - {name for name, _ in MIGRATIONS}
    if unknown:
        raise StoreError(
            f"the store was migrated by a newer agent ({', '.join(sorted(unknown))}); upgrade this agent"
        )
    applied = []
    for name, statements in MIGRATIONS:
        if name in done:
            continue
        connection.execute("BEGIN IMMEDIATE")
        try:
            for statement in statements:
                connection.execute(statement)
            connection.execute(
                "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                (name, datetime.now(UTC).isoformat()),
            )
        except sqlite3.Error as error:
            connection.execute("ROLLBACK")
            raise StoreError(f"migration {name} failed and was rolled back: {error}") from error
        connection.execute("COMMIT")
        applied.append(name)
    return applied

"""The gateway store on a real SQLite file: append-only, gap-free, group-committed, verifiable."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from edge_agent.entrypoints.cli import main as edge_cli
from edge_agent.errors import StoreError
from edge_agent.store.database import open_database
from edge_agent.store.journal import Journal, load_head
from edge_agent.store.migrations import MIGRATIONS
from edge_agent.store.queries import encoded_batch, journal_length, unsynced_backlog
from edge_agent.store.verify import verify_store
from shared.journal import Alarm, AlarmKind, Reading, ReadingSource, decode_entry
from shared.quantities import Measurement

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def reading(meter_id: str, register_wh: int, at: datetime) -> Reading:
    return Reading(
        meter_id=meter_id,
        read_at=at,
        source=ReadingSource.MODBUS,
        measurements={Measurement.ENERGY_IMPORT_WH: Decimal(register_wh)},
        billing_register=Decimal(register_wh),
    )


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "gateway.sqlite3"


def test_migrations_are_recorded_and_reopening_applies_nothing_twice(store_path: Path) -> None:
    open_database(store_path).conn.close()
    db = open_database(store_path)
    names = [row[0] for row in db.execute("SELECT name FROM schema_migrations ORDER BY name")]
    assert names == [name for name, _ in MIGRATIONS]
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_a_store_migrated_by_a_newer_agent_is_refused_by_name(store_path: Path) -> None:
    db = open_database(store_path)
    db.execute("INSERT INTO schema_migrations (name, applied_at) VALUES ('9999_future', 'x')")
    db.conn.close()
    with pytest.raises(StoreError, match="9999_future"):
        open_database(store_path)


async def test_a_transaction_commits_its_entries_and_state_together(store_path: Path) -> None:
    db = open_database(store_path)
    journal = Journal(db)
    with journal.transaction(T0) as txn:
        first = txn.append(reading("m1", 1000, T0))
        txn.append(
            Alarm(meter_id="m1", kind=AlarmKind.COMMUNICATION_RESTORED, detail=f"after seq {first.seq}")
        )
        txn.execute("UPDATE sync_state SET config_version = ? WHERE id = 1", (7,))
    entries = await txn.committed()
    journal.close()
    assert [e.seq for e in entries] == [1, 2]
    assert journal_length(db) == 2
    assert db.execute("SELECT config_version FROM sync_state").fetchone()[0] == 7
    assert decode_entry(encoded_batch(db, after_seq=0, limit=10)[0]) == entries[0]
    assert verify_store(store_path).ok


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("UPDATE journal SET kind = 'charge' WHERE seq = 1", "append-only: entries are never updated"),
        ("DELETE FROM journal WHERE seq = 1", "append-only: entries are never deleted"),
        ("INSERT INTO journal VALUES (5, 'alarm', 'x', x'00', 'h')", "without a gap"),
    ],
)
async def test_the_journal_refuses_updates_deletes_and_gaps(
    store_path: Path, statement: str, message: str
) -> None:
    db = open_database(store_path)
    journal = Journal(db)
    with journal.transaction(T0) as txn:
        txn.append(reading("m1", 1, T0))
    await txn.committed()
    journal.close()
    with pytest.raises(sqlite3.IntegrityError, match=message):
        db.execute(statement)


async def test_an_abandoned_transaction_leaves_no_trace_and_the_sequence_continues(store_path: Path) -> None:
    journal = Journal(open_database(store_path))
    with pytest.raises(RuntimeError), journal.transaction(T0) as txn:
        txn.append(reading("m1", 1, T0))
        raise RuntimeError("rating failed half-way")
    with journal.transaction(T0) as txn:
        entry = txn.append(reading("m1", 2, T0))
    await txn.committed()
    journal.close()
    assert entry.seq == 1
    assert verify_store(store_path).ok


async def test_a_second_transaction_cannot_open_while_one_is_open(store_path: Path) -> None:
    journal = Journal(open_database(store_path))
    with journal.transaction(T0), pytest.raises(StoreError, match="must not span an await"):  # noqa: SIM117
        with journal.transaction(T0):
            pass
    journal.close()


async def test_concurrent_readers_are_group_committed_in_seq_order(store_path: Path) -> None:
    """Fifty meters billing at once share commits; every entry lands, in the order it was sealed."""
    db = open_database(store_path)
    journal = Journal(db, max_rows=64, max_wait_ms=20)

    async def bill(meter: int) -> list[int]:
        with journal.transaction(T0) as txn:
            txn.append(reading(f"m{meter}", meter, T0))
            txn.append(reading(f"m{meter}", meter + 1, T0 + timedelta(seconds=1)))
        return [e.seq for e in await txn.committed()]

    seqs = await asyncio.gather(*(bill(m) for m in range(50)))
    journal.close()
    assert sorted(s for pair in seqs for s in pair) == list(range(1, 101))
    assert all(b == a + 1 for a, b in seqs), "one reading's entries are consecutive"
    assert journal.groups_committed < 50, "transactions queued together share a commit"
    assert verify_store(store_path).ok
    assert unsynced_backlog(db) == 100


async def test_a_failed_commit_loses_the_whole_group_and_stops_the_journal(store_path: Path) -> None:
    db = open_database(store_path)
    journal = Journal(db)
    with journal.transaction(T0) as txn:
        txn.append(reading("m1", 1, T0))
        txn.execute("INSERT INTO no_such_table VALUES (1)")
    with pytest.raises(StoreError, match="journal commit failed"):
        await txn.committed()
    with pytest.raises(StoreError, match="restart the agent"), journal.transaction(T0):
        pass
    journal.close()
    assert journal_length(db) == 0
    assert load_head(db).seq == 0


async def test_journal_verify_names_the_first_tampered_entry(
    store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = open_database(store_path)
    journal = Journal(db)
    for n in range(5):
        with journal.transaction(T0) as txn:
            txn.append(reading("m1", n, T0))
        await txn.committed()
    journal.close()
    assert edge_cli(["journal", "verify", "--store", str(store_path), "--json"]) == 0
    # An attacker with the file drops the trigger and edits entry 3's register.
    db.execute("DROP TRIGGER journal_refuses_update")
    db.execute("UPDATE journal SET entry = CAST(replace(entry, '\"2\"', '\"9\"') AS BLOB) WHERE seq = 3")
    capsys.readouterr()
    assert edge_cli(["journal", "verify", "--store", str(store_path), "--json"]) == 1
    out = capsys.readouterr().out
    assert '"ok":false' in out
    assert '"seq":3' in out


async def test_a_caller_that_stops_waiting_does_not_stop_the_writer(store_path: Path) -> None:
    """A task cancelled while awaiting its commit (at shutdown) leaves the writer working."""
    db = open_database(store_path)
    journal = Journal(db, max_wait_ms=50)
    with journal.transaction(T0) as txn:
        txn.append(reading("m1", 1, T0))
    waiter = asyncio.ensure_future(txn.committed())
    await asyncio.sleep(0)
    waiter.cancel()
    with journal.transaction(T0) as later:
        later.append(reading("m1", 2, T0))
    assert [e.seq for e in await asyncio.wait_for(later.committed(), 5)] == [2]
    journal.close()
    assert journal_length(db) == 2

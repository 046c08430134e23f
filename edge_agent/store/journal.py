"""Appending to the journal: transactions sealed on the event loop, group-committed by one thread.

A :class:`Transaction` gathers the entries one reading causes (reading → charge → relay command)
and the state they change, and is committed as one SQLite transaction. Sequence numbers and hashes
are assigned when an entry is appended — on the event loop, in program order — so a later entry can
refer to an earlier one's seq. The writer thread then commits whole transactions in groups
(bounded by rows and by milliseconds) with ``synchronous=FULL``: one fsync serves many readings
under load, and a caller's ``await txn.committed()`` returns only once its entries are on disk.

Between ``journal.transaction()`` and the end of its ``with`` block there must be no ``await``:
that is what keeps seqs in commit order, and :meth:`Journal.transaction` refuses to open a second
transaction while one is open. If a commit fails the journal stops accepting work (the in-memory
chain head may be ahead of the disk): the agent exits and its supervisor restarts it from disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlite_utils

from edge_agent.errors import StoreError
from shared.journal import GENESIS, Body, ChainHead, Entry, seal_entry

Row = tuple[int, str, str, bytes, str]
Write = tuple[str, tuple[Any, ...]]


@dataclass(slots=True)
class Transaction:
    """Entries and state writes committed together, or not at all."""

    journal: Journal
    recorded_at: datetime
    start_head: ChainHead
    #: Settled on the event loop, by the writer thread, once the transaction is on disk.
    future: asyncio.Future[list[Entry]]
    entries: list[Entry] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)
    #: The ``recorded_at`` column, shared by every entry of the transaction (isoformat is slow).
    recorded_at_text: str = ""

    def append(self, body: Body) -> Entry:
        """Seal ``body`` as the next journal entry (seq and hash assigned now) and return it."""
        entry, encoded = seal_entry(self.journal.head, body, recorded_at=self.recorded_at)
        self.journal.head = entry.head
        self.entries.append(entry)
        kind = type(body).__struct_config__.tag
        if not self.recorded_at_text:
            self.recorded_at_text = entry.recorded_at.isoformat()
        self.rows.append((entry.seq, str(kind), self.recorded_at_text, encoded, entry.hash))
        return entry

    def execute(self, sql: str, parameters: tuple[Any, ...] = ()) -> None:
        """A state change committed in the same SQLite transaction as the entries."""
        self.writes.append((sql, parameters))

    async def committed(self) -> list[Entry]:
        """Wait until the transaction is durable; returns its entries. Raises if the commit failed."""
        return await self.future


_STOP = object()


class Journal:
    """The single writer of the gateway store."""

    def __init__(self, db: sqlite_utils.Database, *, max_rows: int = 512, max_wait_ms: float = 2.0) -> None:
        self.db = db
        self.max_rows = max_rows
        self.max_wait_s = max_wait_ms / 1000
        self.head = load_head(db)
        self._open: Transaction | None = None
        self.groups_committed = 0
        self._failed: BaseException | None = None
        self._queue: queue.SimpleQueue[Transaction | object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._write_loop, name="journal-writer", daemon=True)
        self._thread.start()

    @contextmanager
    def transaction(self, recorded_at: datetime) -> Iterator[Transaction]:
        """Open a transaction; on a clean exit from the block it is queued for commit."""
        if self._failed is not None:
            raise StoreError(f"the journal stopped after a failed commit ({self._failed}); restart the agent")
        if self._open is not None:
            raise StoreError("a journal transaction is already open: transactions must not span an await")
        future = asyncio.get_running_loop().create_future()
        txn = Transaction(journal=self, recorded_at=recorded_at, start_head=self.head, future=future)
        self._open = txn
        try:
            yield txn
        except BaseException:
            self.head = txn.start_head  # nothing was queued: the entries it sealed never existed
            raise
        finally:
            self._open = None
        self._queue.put(txn)

    def close(self) -> None:
        """Commit what is queued, then stop the writer thread."""
        self._queue.put(_STOP)
        self._thread.join()

    def _write_loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            assert isinstance(first, Transaction)
            batch, stop = self._gather(first)
            self._commit(batch)
            if stop:
                return

    def _gather(self, first: Transaction) -> tuple[list[Transaction], bool]:
        """Take queued transactions until the group holds max_rows rows or max_wait has passed."""
        batch, rows = [first], len(first.rows)
        deadline = time.monotonic() + self.max_wait_s
        while rows < self.max_rows:
            remaining = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return batch, True
            assert isinstance(item, Transaction)
            batch.append(item)
            rows += len(item.rows)
        return batch, False

    def _commit(self, batch: list[Transaction]) -> None:
        connection = self.db.conn
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(INSERT_ENTRY, [row for txn in batch for row in txn.rows])
            for txn in batch:
                for sql, parameters in txn.writes:
                    connection.execute(sql, parameters)
            connection.execute("COMMIT")
        except sqlite3.Error as error:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            self._failed = error
            _report(batch, StoreError(f"journal commit failed: {error}"))
            return
        self.groups_committed += 1
        _report(batch, None)


INSERT_ENTRY = "INSERT INTO journal (seq, kind, recorded_at, entry, hash) VALUES (?, ?, ?, ?, ?)"


def _report(batch: list[Transaction], failure: StoreError | None) -> None:
    """Hand a group's outcome to the event loop its callers wait on: one wake-up, not one per caller."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Transaction]] = {}
    for txn in batch:
        by_loop.setdefault(txn.future.get_loop(), []).append(txn)
    for loop, txns in by_loop.items():
        # A closed loop has nobody waiting any more; the commit stands all the same.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, txns, failure)


def _settle(txns: list[Transaction], failure: StoreError | None) -> None:
    """Report a commit's outcome to whoever still waits for it (on the event loop).

    A caller that stopped waiting (its task was cancelled at shutdown) has cancelled its future;
    the commit happened all the same.
    """
    for txn in txns:
        if txn.future.done():
            continue
        if failure is not None:
            txn.future.set_exception(failure)
        else:
            txn.future.set_result(txn.entries)


def load_head(db: sqlite_utils.Database) -> ChainHead:
    """The last committed entry's seq and hash (the genesis head for an empty journal)."""
    row = db.execute("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1").fetchone()
    return GENESIS if row is None else ChainHead(seq=row[0], hash=row[1])

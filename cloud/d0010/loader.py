"""Streams the validated groups of one file into PostgreSQL while the file is parsed.

A worker thread parses the file into batches of about ``BATCH_BYTES`` and formats each group's
rows as if its MPAN were new (``direct``), with ids chosen here. For each batch, the loop then asks
in one query which of its MPANs are already stored: those groups' rows are dropped and the groups
go to the staging table instead, whose conflict checks run at the end (``storage``); the rest goes
straight into the final tables, one COPY per table. Memory holds a few batches, and the server
ingests one batch while the worker parses and formats the next.

The ids of new MPANs and meters are chosen here, counting up from values taken from their
sequences; this is safe because every writer of those tables holds the import lock
(``storage.serialise_imports``), taken before the first id is chosen, and the sequences are moved
past the ids used before the transaction ends (``finish_ids``). Ids of rows dropped are not reused.
"""

from __future__ import annotations

import asyncio
import queue
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

from cloud.d0010.direct import DirectRows
from cloud.d0010.model import ValidatedFlow
from cloud.d0010.staging import COPY_STAGING, CREATE_STAGING, StagingRows

#: Input bytes per batch (about 16,000 readings): one existence query and a few COPY statements each.
BATCH_BYTES = 2 << 20
#: What a line of a group checked line by line is taken to weigh, for the batch size.
_LINE_BYTES = 30
#: A batch also ends after this many groups (groups without readings still cost a row each).
GROUPS_PER_BATCH = 16_384
#: Interpreter thread switch interval while a file loads (the default is 5 ms), see ``_quick_switching``.
SWITCH_INTERVAL_S = 0.0005
#: Batches parsed ahead of the database.
BATCHES_AHEAD = 2
#: How often a thread waiting on the queue checks whether the import was abandoned.
PUT_WAIT_S = 0.1

CREATE_DIRECT_METERS = """
CREATE TEMPORARY TABLE d0010_direct_meters (
    meter_ref bigint NOT NULL,
    mpan_ref bigint NOT NULL,
    group_line integer NOT NULL,
    meter_line integer NOT NULL,
    reading_type text NOT NULL,
    bsc_validation_status text NOT NULL
) ON COMMIT DROP
"""

_RESERVE = """
SELECT nextval(pg_get_serial_sequence('d0010_files', 'id')),
       nextval(pg_get_serial_sequence('d0010_mpans', 'id')),
       nextval(pg_get_serial_sequence('d0010_meters', 'id'))
"""
# The batch's MPAN cores as one comma-separated text (they are digits only): a text array
# parameter would cost a Python call per element to send.
_STORED_MPANS = "SELECT mpan_core, id FROM d0010_mpans WHERE mpan_core = ANY(string_to_array(%s, ','))"
# In the order of ``Prepared.rows``.
_COPIES = (
    "COPY d0010_mpans (id, mpan_core) FROM STDIN",
    "COPY d0010_meters (id, mpan_ref, meter_id) FROM STDIN",
    "COPY d0010_direct_meters FROM STDIN",
    "COPY d0010_readings (meter_ref, register_id, reading_at, register_reading, reading_type, "
    "bsc_validation_status, md_reset_at, md_reset_count, meter_reading_flag, reading_method, "
    "reason_code, reading_status, file_ref, line) FROM STDIN",
)


@dataclass(slots=True)
class Loaded:
    """What the loader wrote, for the steps after the file has been read."""

    file_ref: int
    readings_direct: int = 0
    """Readings COPYed straight into ``d0010_readings`` (some may be moved back, see below)."""
    staged: bool = False
    """Whether any row went to the staging table."""
    may_repeat: bool = False
    """Whether a reading key may occur twice among the staged rows (see ``staging.Staged``)."""
    repeats_new_mpan: bool = False
    """Whether a group named an MPAN this import added: a group loaded directly may then have to
    go back through staging, to be checked together with the later one (``storage.move_back``)."""
    last_mpan_ref: int = 0
    last_meter_ref: int = 0


class Prepared:
    """A batch formatted in the parsing thread as if each MPAN in it were new to the database.

    ``starts`` holds, per group, where its rows begin in each of ``rows`` (MPANs, meters, listed
    meters, readings), so the rows of a group whose MPAN turns out to be stored can be dropped.
    """

    __slots__ = ("cores", "direct", "flows", "rows", "starts")

    def __init__(self, flows: list[ValidatedFlow], rows: DirectRows) -> None:
        self.flows = flows
        self.rows = (rows.mpans, rows.meters, rows.direct_meters, rows.readings)
        self.starts: list[tuple[int, int, int, int]] = []
        self.direct: list[bool] = []
        """Per group: formatted for the final tables (else it needs staging, MPAN row aside)."""
        self.cores = ""
        """The batch's distinct MPAN cores, comma-separated, for the query for stored ones."""


class Loader:
    """Loads the groups of one file (call ``load`` once), under the import lock."""

    def __init__(self, connection: AsyncConnection[Any]) -> None:
        self._connection = connection
        self._staging = StagingRows()
        self._file_ref = self._first_mpan_ref = self._next_mpan_ref = self._next_meter_ref = 0
        self._stamps_and_ends = DirectRows(0)  # its caches, kept across batches

    async def load(self, flows: Iterable[ValidatedFlow]) -> Loaded:
        """Reserve ids, create the temporary tables, and load every group of ``flows``."""
        cursor = await self._connection.execute(_RESERVE)
        self._file_ref, self._first_mpan_ref, self._next_meter_ref = await cursor.fetchone() or (0, 0, 0)
        self._next_mpan_ref = self._first_mpan_ref
        self._stamps_and_ends = DirectRows(self._file_ref)
        loaded = Loaded(self._file_ref)
        await self._connection.execute(CREATE_STAGING)
        await self._connection.execute(CREATE_DIRECT_METERS)
        with _quick_switching(), Parsing(flows, self._prepare) as batches:
            while (batch := await batches.next()) is not None:
                await self._send(batch, loaded)
        if loaded.staged:
            await self._connection.execute("ANALYZE d0010_staging")
        loaded.may_repeat = loaded.may_repeat or self._staging.staged.may_repeat or loaded.repeats_new_mpan
        loaded.last_mpan_ref, loaded.last_meter_ref = self._next_mpan_ref - 1, self._next_meter_ref - 1
        return loaded

    def _prepare(self, batch: list[ValidatedFlow]) -> Prepared:
        """In the parsing thread: ids and COPY rows for each group, as if its MPAN were new. A group
        naming an MPAN again within the batch, or that cannot go straight in, is left for staging."""
        rows = self._stamps_and_ends.fresh()
        prepared = Prepared(batch, rows)
        mpans, meters, direct_meters, readings = prepared.rows
        starts, routes, add = prepared.starts, prepared.direct, rows.add
        mpan_ref, meter_ref = self._next_mpan_ref, self._next_meter_ref
        seen: set[str] = set()
        for flow in batch:
            core = flow.mpan_core
            starts.append((len(mpans), len(meters), len(direct_meters), len(readings)))
            if core in seen:
                routes.append(False)
                continue
            seen.add(core)
            mpans.append(b"%d\t%s\n" % (mpan_ref, core.encode()))
            used = add(flow, mpan_ref, meter_ref)
            mpan_ref += 1
            if used is None:
                routes.append(False)
            else:
                meter_ref += used
                routes.append(True)
        self._next_mpan_ref, self._next_meter_ref = mpan_ref, meter_ref
        prepared.cores = ",".join(seen)
        return prepared

    async def _send(self, batch: Prepared, loaded: Loaded) -> None:
        """Route each group of the batch, then COPY the rows of each table."""
        flows = batch.flows
        if not flows:
            return
        cursor = await self._connection.execute(_STORED_MPANS, (batch.cores,))
        stored: dict[str, int] = {core: ref for core, ref in await cursor.fetchall()}
        if not stored and all(batch.direct):  # the usual batch: every group goes straight in
            loaded.readings_direct += len(batch.rows[3])
            await self._copy(batch.rows, [])
            return
        rows = _without_stored(batch, stored) if stored else batch.rows
        staging_rows: list[str] = []
        seen: set[str] = set()
        for flow, direct in zip(flows, batch.direct, strict=True):
            mpan_ref = stored.get(flow.mpan_core)
            if (mpan_ref is not None and mpan_ref >= self._first_mpan_ref) or flow.mpan_core in seen:
                loaded.repeats_new_mpan = True  # an MPAN this import added is named again
            seen.add(flow.mpan_core)
            if mpan_ref is None and direct:
                continue
            self._staging.add(flow, staging_rows)
            loaded.staged = True
        loaded.readings_direct += len(rows[3])
        await self._copy(rows, staging_rows)

    async def _copy(self, rows: tuple[list[bytes], ...], staging_rows: list[str]) -> None:
        async with self._connection.cursor() as cursor:
            for table_rows, statement in zip(rows, _COPIES, strict=True):
                if table_rows:
                    async with cursor.copy(statement) as copy:
                        await copy.write(b"".join(table_rows))
            if staging_rows:
                async with cursor.copy(COPY_STAGING) as copy:
                    await copy.write("".join(staging_rows).encode())


def _without_stored(batch: Prepared, stored: dict[str, int]) -> tuple[list[bytes], ...]:
    """The batch's rows less those of the groups whose MPAN is already stored."""
    ends = [*batch.starts[1:], tuple(len(table) for table in batch.rows)]
    kept: tuple[list[bytes], ...] = ([], [], [], [])
    for flow, start, end in zip(batch.flows, batch.starts, ends, strict=True):
        if flow.mpan_core not in stored:
            for table, into, first, last in zip(batch.rows, kept, start, end, strict=True):
                into.extend(table[first:last])
    return kept


async def finish_ids(connection: AsyncConnection[Any], loaded: Loaded) -> None:
    """Move the MPAN and meter sequences past the ids this import chose, before anyone else inserts."""
    await connection.execute(
        "SELECT setval(pg_get_serial_sequence('d0010_mpans', 'id'), greatest(%s, 1)), "
        "setval(pg_get_serial_sequence('d0010_meters', 'id'), greatest(%s, 1))",
        (loaded.last_mpan_ref, loaded.last_meter_ref),
    )


class _Switching:
    """Who asked for a short switch interval, and the one to restore (see ``_quick_switching``)."""

    lock = threading.Lock()
    users = 0
    saved = 0.0


@contextmanager
def _quick_switching() -> Iterator[None]:
    """A short interpreter switch interval while any file loads, the previous one restored after.

    The parsing thread holds the interpreter lock almost all the time; each time the server answers,
    the event loop's thread must wait for it, up to the switch interval (5 ms by default), while
    the server sits idle. A load makes several round trips a batch, so at 5 ms a million readings
    lost about a second. Counted, so that overlapping loads restore the original interval once.
    """
    with _Switching.lock:
        if _Switching.users == 0:
            _Switching.saved = sys.getswitchinterval()
            sys.setswitchinterval(min(SWITCH_INTERVAL_S, _Switching.saved))
        _Switching.users += 1
    try:
        yield
    finally:
        with _Switching.lock:
            _Switching.users -= 1
            if _Switching.users == 0:
                sys.setswitchinterval(_Switching.saved)


class Parsing:
    """Parses and prepares batches in a worker thread, a few ahead, while the caller's loop talks
    to the server.

    Parsing and formatting rows are Python and hold the interpreter lock; PostgreSQL works in its
    own process. With that work in a thread, the server ingests one batch while the next is
    parsed and formatted, instead of each waiting for the other. At most ``BATCHES_AHEAD`` batches
    wait, so memory stays flat.
    """

    def __init__(
        self, flows: Iterable[ValidatedFlow], prepare: Callable[[list[ValidatedFlow]], Prepared]
    ) -> None:
        self._flows = flows
        self._prepare = prepare
        self._queue: queue.Queue[Prepared | BaseException | None] = queue.Queue(BATCHES_AHEAD)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="d0010-parse", daemon=True)

    def __enter__(self) -> Parsing:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()  # if the caller failed, the worker stops at its next batch
        self._thread.join()

    async def next(self) -> Prepared | None:
        """The next prepared batch, or ``None`` once the input is exhausted."""
        item = await asyncio.to_thread(self._get)
        if isinstance(item, BaseException):
            raise item
        return item

    def _get(self) -> Prepared | BaseException | None:
        """The next item; ``None`` too once the import is abandoned (so no thread waits forever)."""
        while not self._stop.is_set():
            try:
                return self._queue.get(timeout=PUT_WAIT_S)
            except queue.Empty:
                continue
        return None

    def _run(self) -> None:
        try:
            batch: list[ValidatedFlow] = []
            size = 0
            for flow in self._flows:
                batch.append(flow)
                size += _size(flow)
                if size >= BATCH_BYTES or len(batch) >= GROUPS_PER_BATCH:
                    if not self._put(self._prepare(batch)):
                        return
                    batch, size = [], 0
            if batch and not self._put(self._prepare(batch)):
                return
            self._put(None)
        except BaseException as exc:  # handed to the caller's loop, which raises it there
            self._put(exc)

    def _put(self, item: Prepared | BaseException | None) -> bool:
        """Queue ``item`` unless the caller has stopped listening; whether it was queued."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=PUT_WAIT_S)
            except queue.Full:
                continue
            return True
        return False


def _size(flow: ValidatedFlow) -> int:
    """About how many bytes of input a group took, without decoding it."""
    return (
        len(flow.raw)
        if flow.raw is not None
        else _LINE_BYTES * (len(flow.readings) * 2 + len(flow.meters) + 1)
    )

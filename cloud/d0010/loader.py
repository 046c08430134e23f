"""Streams the validated groups of one file into PostgreSQL while the file is parsed.

Groups come in batches of about ``READINGS_PER_BATCH`` readings. For each batch one query finds
which of its MPANs are already stored; a group whose MPAN is new goes straight into the final
tables (``direct``), any other into the staging table, whose conflict checks run at the end
(``storage``). Each batch is sent with one COPY per table, so memory holds one batch, and the
server ingests one batch while Python parses the next.

The ids of new MPANs and meters are chosen here, counting up from values taken from their
sequences; this is safe because every writer of those tables holds the import lock
(``storage.serialise_imports``), taken before the first id is chosen, and the sequences are moved
past the ids used before the transaction ends (``finish_ids``).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

from cloud.d0010.direct import DirectRows
from cloud.d0010.model import ValidatedFlow
from cloud.d0010.staging import COPY_STAGING, CREATE_STAGING, StagingRows

#: Readings per batch: one existence query and a few COPY statements per batch; about 1 MB of text.
READINGS_PER_BATCH = 16_384
#: A batch also ends after this many groups (groups without readings still cost a row each).
GROUPS_PER_BATCH = 8_192
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
_COPIES = (
    ("mpans", "COPY d0010_mpans (id, mpan_core) FROM STDIN"),
    ("meters", "COPY d0010_meters (id, mpan_ref, meter_id) FROM STDIN"),
    ("direct_meters", "COPY d0010_direct_meters FROM STDIN"),
    (
        "readings",
        "COPY d0010_readings (meter_ref, register_id, reading_at, register_reading, reading_type, "
        "bsc_validation_status, md_reset_at, md_reset_count, meter_reading_flag, reading_method, "
        "reason_code, reading_status, file_ref, line) FROM STDIN",
    ),
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


class Loader:
    """Loads the groups of one file (call ``load`` once), under the import lock."""

    def __init__(self, connection: AsyncConnection[Any]) -> None:
        self._connection = connection
        self._staging = StagingRows()
        self._direct: DirectRows | None = None
        self._first_mpan_ref = self._next_mpan_ref = self._next_meter_ref = 0

    async def load(self, flows: Iterable[ValidatedFlow]) -> Loaded:
        """Reserve ids, create the temporary tables, and load every group of ``flows``."""
        cursor = await self._connection.execute(_RESERVE)
        file_ref, self._first_mpan_ref, self._next_meter_ref = await cursor.fetchone() or (0, 0, 0)
        self._next_mpan_ref = self._first_mpan_ref
        self._direct = DirectRows(file_ref)
        loaded = Loaded(file_ref)
        await self._connection.execute(CREATE_STAGING)
        await self._connection.execute(CREATE_DIRECT_METERS)
        with Parsing(flows) as batches:
            while (batch := await batches.next()) is not None:
                await self._send(batch, loaded)
        if loaded.staged:
            await self._connection.execute("ANALYZE d0010_staging")
        loaded.readings_direct = self._direct.readings_total
        loaded.may_repeat = loaded.may_repeat or self._staging.staged.may_repeat or loaded.repeats_new_mpan
        loaded.last_mpan_ref, loaded.last_meter_ref = self._next_mpan_ref - 1, self._next_meter_ref - 1
        return loaded

    async def _send(self, batch: list[ValidatedFlow], loaded: Loaded) -> None:
        """Route each group of the batch, then COPY the rows of each table."""
        if not batch:
            return
        direct = self._direct
        assert direct is not None, "load() sets it first"
        cursor = await self._connection.execute(
            _STORED_MPANS, (",".join([flow.mpan_core for flow in batch]),)
        )
        stored: dict[str, int] = {core: ref for core, ref in await cursor.fetchall()}
        staging_rows: list[str] = []
        for flow in batch:
            mpan_ref = stored.get(flow.mpan_core)
            if mpan_ref is None:
                mpan_ref = stored[flow.mpan_core] = self._next_mpan_ref
                self._next_mpan_ref += 1
                direct.add_mpan(mpan_ref, flow.mpan_core)
                used = direct.add(flow, mpan_ref, self._next_meter_ref)
                if used is not None:
                    self._next_meter_ref += used
                    continue
            elif mpan_ref >= self._first_mpan_ref:
                loaded.repeats_new_mpan = True
            self._staging.add(flow, staging_rows)
            loaded.staged = True
        await self._copy(direct, staging_rows)
        direct.clear()

    async def _copy(self, direct: DirectRows, staging_rows: list[str]) -> None:
        async with self._connection.cursor() as cursor:
            for name, statement in _COPIES:
                rows: list[bytes] = getattr(direct, name)
                if rows:
                    async with cursor.copy(statement) as copy:
                        await copy.write(b"".join(rows))
            if staging_rows:
                async with cursor.copy(COPY_STAGING) as copy:
                    await copy.write("".join(staging_rows).encode())


async def finish_ids(connection: AsyncConnection[Any], loaded: Loaded) -> None:
    """Move the MPAN and meter sequences past the ids this import chose, before anyone else inserts."""
    await connection.execute(
        "SELECT setval(pg_get_serial_sequence('d0010_mpans', 'id'), greatest(%s, 1)), "
        "setval(pg_get_serial_sequence('d0010_meters', 'id'), greatest(%s, 1))",
        (loaded.last_mpan_ref, loaded.last_meter_ref),
    )


class Parsing:
    """Parses in a worker thread, a few batches ahead, while the caller's loop talks to the server.

    The parser is Python and holds the interpreter lock; PostgreSQL works in its own process, so
    with the parser in a thread the server ingests one batch while the next is parsed, instead
    of each waiting for the other. At most ``BATCHES_AHEAD`` batches wait, so memory stays flat.
    """

    def __init__(self, flows: Iterable[ValidatedFlow]) -> None:
        self._flows = flows
        self._queue: queue.Queue[list[ValidatedFlow] | BaseException | None] = queue.Queue(BATCHES_AHEAD)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="d0010-parse", daemon=True)

    def __enter__(self) -> Parsing:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()  # if the caller failed, the worker stops at its next batch
        self._thread.join()

    async def next(self) -> list[ValidatedFlow] | None:
        """The next batch of groups, or ``None`` once the input is exhausted."""
        item = await asyncio.to_thread(self._get)
        if isinstance(item, BaseException):
            raise item
        return item

    def _get(self) -> list[ValidatedFlow] | BaseException | None:
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
            readings = 0
            for flow in self._flows:
                batch.append(flow)
                readings += _reading_count(flow)
                if readings >= READINGS_PER_BATCH or len(batch) >= GROUPS_PER_BATCH:
                    if not self._put(batch):
                        return
                    batch, readings = [], 0
            if batch and not self._put(batch):
                return
            self._put(None)
        except BaseException as exc:  # handed to the caller's loop, which raises it there
            self._put(exc)

    def _put(self, item: list[ValidatedFlow] | BaseException | None) -> bool:
        """Queue ``item`` unless the caller has stopped listening; whether it was queued."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=PUT_WAIT_S)
            except queue.Full:
                continue
            return True
        return False


def _reading_count(flow: ValidatedFlow) -> int:
    """About how many readings a group holds, without decoding it."""
    return flow.raw.count(b"\n030|") if flow.raw is not None else len(flow.readings)

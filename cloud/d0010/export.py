"""Stored readings back out as a D0010 file, streamed from a server-side cursor.

The export runs on a synchronous connection because ``write_d0010`` pulls readings from a plain
iterator: rows are fetched in pages as the file is written, so memory stays flat for any period.
Readings come ordered by MPAN, BSC status, meter and reading type, so each MPAN gets one 026 and
each meter one 028 (see ``writer.py``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import BinaryIO
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, create_engine, select

from cloud.d0010.errors import FieldError, WriteError
from cloud.d0010.items import mpan_core
from cloud.d0010.links import READING_COLUMNS, reading_from_row
from cloud.d0010.model import FlowHeader, Reading
from cloud.d0010.models import RegisterReading, SupplyMeter, SupplyPoint
from cloud.d0010.writer import write_d0010
from cloud.database.server import sqlalchemy_url

UK = ZoneInfo("Europe/London")
#: Rows fetched per round trip from the server-side cursor.
FETCH_ROWS = 5_000
#: MPAN and BSC status, then meter and reading type: the nesting of 026 and 028 groups.
EXPORT_ORDER = (
    SupplyPoint.mpan_core, RegisterReading.bsc_validation_status, SupplyMeter.meter_id,
    RegisterReading.reading_type, RegisterReading.reading_at, RegisterReading.register_id,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """Which readings (MPANs, inclusive UK local dates) and the ZHV header to write them under."""

    mpan_cores: tuple[str, ...]
    first_day: date
    last_day: date
    file_id: str
    from_role: str = "X"
    from_participant: str = "QNTY"
    to_role: str = "X"
    to_participant: str = "QNTY"
    test_flag: str = "OPER"


def export_d0010(libpq_url: str, request: ExportRequest, out: BinaryIO, *, now: datetime) -> int:
    """Write the file to ``out``; the command's exit status (2 for a bad request, 1 if unwritable)."""
    try:
        cores = [mpan_core(core.strip().encode("ascii", "replace")) for core in request.mpan_cores]
    except FieldError as exc:
        print(f"--mpan: {exc.message}", file=sys.stderr)
        return 2
    if request.last_day < request.first_day:
        print("--to: must not be before --from", file=sys.stderr)
        return 2
    local_now = now.astimezone(UK).replace(tzinfo=None, microsecond=0)
    header = FlowHeader(
        request.file_id, request.from_role, request.from_participant, request.to_role,
        request.to_participant, local_now, test_flag=request.test_flag,
    )  # fmt: skip
    engine = create_engine(sqlalchemy_url(libpq_url))
    try:
        with engine.connect() as connection:
            readings = _readings(connection, cores, request)
            try:
                for line in write_d0010(readings, header, completed_at=local_now):
                    out.write(line)
            except WriteError as exc:
                print(f"cannot write the D0010 file: {exc}", file=sys.stderr)
                return 1
    finally:
        engine.dispose()
    return 0


def _readings(connection: Connection, cores: list[str], request: ExportRequest) -> Iterator[Reading]:
    start = datetime.combine(request.first_day, time())
    end = datetime.combine(request.last_day + timedelta(days=1), time())
    query = (
        select(*READING_COLUMNS)
        .join(SupplyMeter, SupplyMeter.id == RegisterReading.meter_ref)
        .join(SupplyPoint, SupplyPoint.id == SupplyMeter.mpan_ref)
        .where(SupplyPoint.mpan_core.in_(cores))
        .where(RegisterReading.reading_at >= start, RegisterReading.reading_at < end)
        .order_by(*EXPORT_ORDER)
    )
    result = connection.execution_options(stream_results=True, yield_per=FETCH_ROWS).execute(query)
    for row in result:
        yield reading_from_row(row)

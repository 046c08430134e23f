"""Storing an accepted batch: the entries unchanged, and the facts they report, in columns.

Entries and readings (nearly all of a backlog) go in by COPY; alarms and relay states by one
``INSERT … SELECT FROM unnest(arrays)``: a round trip per table whatever the batch size, which is
what keeps intake fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.ledger.driver import driver_connection
from shared.journal import Alarm, Charge, Entry, Reading, RelayStateConfirmed

_COPY_JOURNAL = "COPY gateway_journal (gateway_id, seq, kind, hash, entry) FROM STDIN (FORMAT BINARY)"
_COPY_READINGS = (
    "COPY gateway_readings (gateway_id, seq, meter_id, read_at, billing_register, measurements) FROM STDIN"
)
_ALARMS = text("""
    INSERT INTO gateway_alarms (gateway_id, seq, origin, meter_id, kind, detail)
    SELECT :gateway, seq, 'gateway', meter_id, kind, detail
    FROM unnest(CAST(:seq AS bigint[]), CAST(:meter AS text[]), CAST(:kind AS text[]),
                CAST(:detail AS text[]))
         AS a(seq, meter_id, kind, detail)
""")
_RELAY_STATES = text("""
    INSERT INTO gateway_relay_states (gateway_id, seq, meter_id, command_id, closed, observed_at)
    SELECT :gateway, * FROM unnest(CAST(:seq AS bigint[]), CAST(:meter AS text[]), CAST(:command AS text[]),
                                   CAST(:closed AS boolean[]), CAST(:observed_at AS timestamptz[]))
""")
_CLOUD_ALARM = text("""
    INSERT INTO gateway_alarms (gateway_id, seq, origin, meter_id, kind, detail)
    VALUES (:gateway, NULL, 'cloud', :meter, :kind, :detail)
""")


@dataclass(slots=True)
class SortedEntries:
    """The decoded entries of a batch, sorted by what the cloud does with them."""

    readings: list[tuple[int, Reading]] = field(default_factory=list)
    charges: list[tuple[int, Charge]] = field(default_factory=list)
    alarms: list[tuple[int, Alarm]] = field(default_factory=list)
    relay_states: list[tuple[int, RelayStateConfirmed]] = field(default_factory=list)


def sort_entries(entries: Sequence[Entry]) -> SortedEntries:
    """Group the entries whose facts the cloud keeps in columns or posts."""
    out = SortedEntries()
    for entry in entries:
        body = entry.body
        if isinstance(body, Reading):
            out.readings.append((entry.seq, body))
        elif isinstance(body, Charge):
            out.charges.append((entry.seq, body))
        elif isinstance(body, Alarm):
            out.alarms.append((entry.seq, body))
        elif isinstance(body, RelayStateConfirmed):
            out.relay_states.append((entry.seq, body))
    return out


async def store_entries(
    session: AsyncSession, gateway_id: int, encoded: Sequence[bytes], decoded: Sequence[Entry]
) -> None:
    """Store entries ``assess_batch`` verified byte for byte (``decoded`` as it decoded them), keyed
    by (gateway, seq) with their hashes.

    Binary ``COPY`` on the session's own connection (so inside its transaction): the bytes are
    most of a batch, and COPY moves them at several times the speed of bound parameters.
    """
    async with (await driver_connection(session)).cursor() as cursor, cursor.copy(_COPY_JOURNAL) as copy:
        copy.set_types(["int8", "int8", "text", "text", "bytea"])
        for data, entry in zip(encoded, decoded, strict=True):
            await copy.write_row((gateway_id, entry.seq, entry.body.__struct_config__.tag, entry.hash, data))


async def store_facts(session: AsyncSession, gateway_id: int, facts: SortedEntries) -> None:
    """Copy readings, alarms and relay states into their reporting tables."""
    connection = await session.connection()
    if facts.readings:
        await _copy_readings(session, gateway_id, facts.readings)
    if facts.alarms:
        await connection.execute(
            _ALARMS,
            {
                "gateway": gateway_id,
                "seq": [seq for seq, _ in facts.alarms],
                "meter": [body.meter_id for _, body in facts.alarms],
                "kind": [body.kind.value for _, body in facts.alarms],
                "detail": [body.detail for _, body in facts.alarms],
            },
        )
    if facts.relay_states:
        await connection.execute(
            _RELAY_STATES,
            {
                "gateway": gateway_id,
                "seq": [seq for seq, _ in facts.relay_states],
                "meter": [body.meter_id for _, body in facts.relay_states],
                "command": [body.command_id for _, body in facts.relay_states],
                "closed": [body.closed for _, body in facts.relay_states],
                "observed_at": [body.observed_at for _, body in facts.relay_states],
            },
        )


async def _copy_readings(session: AsyncSession, gateway_id: int, readings: list[tuple[int, Reading]]) -> None:
    async with (await driver_connection(session)).cursor() as cursor, cursor.copy(_COPY_READINGS) as copy:
        for seq, body in readings:
            row = (
                gateway_id,
                seq,
                body.meter_id,
                body.read_at,
                body.billing_register,
                _measurements_json(body),
            )
            await copy.write_row(row)


async def raise_cloud_alarm(
    session: AsyncSession, gateway_id: int, kind: str, detail: str, *, meter_id: str | None = None
) -> None:
    """Record an alarm the cloud raises about a gateway (a broken chain, an unmapped charge)."""
    params = {"gateway": gateway_id, "meter": meter_id, "kind": kind, "detail": detail}
    await (await session.connection()).execute(_CLOUD_ALARM, params)


def _measurements_json(reading: Reading) -> str:
    # Decimals as strings, exactly as journalled: reports must not see float noise.
    return msgspec.json.encode(
        {str(name): str(value) for name, value in reading.measurements.items()}
    ).decode()

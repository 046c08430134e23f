"""One realistic entry body of every kind, and the fixed chain the golden vectors are made of.

The values are chosen to exercise the canonical rules: Decimals needing normalisation, a time in
a non-UTC zone, microseconds, non-ASCII and control characters in text, ``None`` fields.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from shared.journal import (
    GENESIS,
    Alarm,
    AlarmKind,
    Body,
    Charge,
    ConfigApplied,
    CreditApplied,
    Entry,
    MeterReplaced,
    Pocket,
    Reading,
    ReadingSource,
    RelayAction,
    RelayCommand,
    RelayReason,
    RelayStateConfirmed,
    next_entry,
)
from shared.quantities import Measurement, Utility

SAST = timezone(timedelta(hours=2))
T0 = datetime(2026, 11, 22, 5, 0, 0, tzinfo=SAST)  # 03:00:00Z


def sample_bodies() -> list[Body]:
    """One body of each kind, in the order of the golden chain."""
    return [
        Reading(
            meter_id="EST-01/unit-12/elec",
            read_at=T0 - timedelta(seconds=2, microseconds=500),
            source=ReadingSource.MODBUS,
            measurements={
                Measurement.ENERGY_IMPORT_WH: Decimal("1234560.00"),
                Measurement.VOLTAGE_V: Decimal("231.40"),
                Measurement.POWER_W: Decimal("1.2E+3"),
                Measurement.POWER_FACTOR: Decimal("-0.000"),
            },
            billing_register=Decimal("1234560.00"),
        ),
        Charge(
            meter_id="EST-01/unit-12/elec",
            wallet_id="wallet-12",
            utility=Utility.ELECTRICITY,
            pocket=Pocket.ELECTRICITY,
            reading_seq=1,
            interval_start=T0 - timedelta(minutes=1),
            interval_end=T0,
            quantity=Decimal("20.5"),
            band="peak",
            tariff_version="elec-2026-07#3",
            amount_cents=7,
            month="2026-11",
            month_to_date_quantity_before=Decimal("350000"),
            carry_before=Decimal("-0.0012500"),
        ),
        RelayCommand(
            meter_id="EST-01/unit-12/elec",
            command_id="cmd-0001",
            action=RelayAction.OPEN,
            reason=RelayReason.CREDIT_EXHAUSTED,
        ),
        RelayStateConfirmed(
            meter_id="EST-01/unit-12/elec",
            command_id="cmd-0001",
            closed=False,
            observed_at=T0 + timedelta(seconds=3),
        ),
        Alarm(
            meter_id=None, kind=AlarmKind.COMMUNICATION_LOST, detail='Bus "A" (RS485): no answer\n—3 tries, ü'
        ),
        CreditApplied(
            wallet_id="wallet-12",
            pocket=Pocket.SHARED,
            cloud_balance_cents=-150,
            posted_through_seq=2,
            cached_balance_cents=-150,
        ),
        ConfigApplied(version=42, digest="ab" * 32),
        MeterReplaced(
            meter_id="EST-01/unit-12/water",
            old_serial="SN-0001",
            new_serial="SN-0002",
            old_final_register=Decimal("987654.321"),
            new_first_register=Decimal("0"),
            replaced_at=datetime(2026, 11, 21, 14, 30, tzinfo=UTC),
        ),
    ]


def sample_chain() -> list[Entry]:
    """The golden chain: the sample bodies journaled one second apart from T0."""
    entries: list[Entry] = []
    head = GENESIS
    for offset, body in enumerate(sample_bodies()):
        entry = next_entry(head, body, recorded_at=T0 + timedelta(seconds=offset))
        entries.append(entry)
        head = entry.head
    return entries

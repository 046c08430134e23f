"""Revenue assurance from the readings: the cloud derives each meter's consumption, month-to-date and
carry from the uploaded registers and flags every charge that does not follow from them, across
batches that end anywhere (between a reading and its charges too)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
import msgspec
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.database.session import transaction
from cloud.gateways.models import ChargeDiscrepancy
from cloud.gateways.reports import list_discrepancies
from cloud.wallets.services import close_wallet
from shared.journal import AlarmKind, Charge, MeterReplaced, Pocket, Reading, ReadingSource, decode_entry
from shared.money import ZERO, charge_with_carry
from shared.quantities import Measurement, Utility
from shared.sync import AckStatus
from shared.tariffs import MonthToDate, rate_interval
from tests.integration.cloud.conftest import ADMIN, EVERYTHING
from tests.integration.sync_cloud.conftest import Site, electricity
from tests.integration.sync_cloud.gateway import MeterState, SimulatedGateway
from tests.integration.sync_cloud.test_journal_intake import bill, send

pytestmark = pytest.mark.anyio


def journal_reading(gateway: SimulatedGateway, site: Site, register: Decimal, read_at: datetime) -> int:
    """A reading journalled with no charge after it (a baseline, or a reading the gateway failed to bill)."""
    return gateway.append(
        Reading(
            meter_id=str(site.meter_id),
            read_at=read_at,
            source=ReadingSource.MODBUS,
            measurements={Measurement.ENERGY_IMPORT_WH: register},
            billing_register=register,
        )
    )


def commission(gateway: SimulatedGateway, site: Site, meter: MeterState) -> None:
    """The meter's first reading: it sets the baseline and bills nothing, as on the gateway."""
    journal_reading(gateway, site, meter.register, meter.read_at)


async def upload(
    client: httpx.AsyncClient, gateway: SimulatedGateway, sent: int, batch_size: int = 1000
) -> int:
    """Send everything after seq ``sent`` in batches of ``batch_size``; return the new last seq sent."""
    while sent < len(gateway.entries):
        last = min(len(gateway.entries), sent + batch_size)
        ack = await send(client, gateway, sent + 1, last)
        assert ack.status is AckStatus.ACCEPTED
        sent = last
    return sent


async def findings(engine: AsyncEngine, site: Site) -> Sequence[ChargeDiscrepancy]:
    async with transaction(engine) as session:
        return await list_discrepancies(session, EVERYTHING, site.gateway_id, limit=1000)


def charge_seqs(gateway: SimulatedGateway, reading_seq: int) -> list[int]:
    return [
        entry.seq
        for entry in map(decode_entry, gateway.entries)
        if isinstance(entry.body, Charge) and entry.body.reading_seq == reading_seq
    ]


async def test_a_forged_quantity_billed_with_a_consistent_chain_is_flagged(
    client: httpx.AsyncClient, engine: AsyncEngine, site: Site, gateway: SimulatedGateway, meter: MeterState
) -> None:
    commission(gateway, site, meter)
    bill(gateway, meter, site, 60, "4000")
    # The gateway bills 500 Wh more than the register moved: amounts, month-to-date and carry all
    # follow from the forged quantity, and the entry is sealed, so the chain verifies.
    meter.register -= Decimal(500)
    [forged, standing] = bill(gateway, meter, site, 60, "3000")
    forged_seqs = charge_seqs(gateway, forged.reading_seq or 0)
    bill(gateway, meter, site, 60, "2000")

    await upload(client, gateway, 0)

    # Both charges of that reading are wrong: the energy, and the month-to-date the standing
    # charge states after it. The chain after them is not flagged again.
    energy, after = await findings(engine, site)
    assert [energy.seq, after.seq] == forged_seqs
    assert f"quantity {forged.quantity} where the readings give {forged.quantity - 500}" in energy.detail
    assert energy.charged_cents == forged.amount_cents
    assert energy.rerated_cents is not None and energy.rerated_cents < forged.amount_cents
    assert f"month_to_date_quantity_before {standing.month_to_date_quantity_before} where" in after.detail


async def test_a_forged_month_to_date_is_flagged(
    client: httpx.AsyncClient, engine: AsyncEngine, site: Site, gateway: SimulatedGateway, meter: MeterState
) -> None:
    commission(gateway, site, meter)
    bill(gateway, meter, site, 60, "4000")
    bill(gateway, meter, site, 60, "4000")
    # The gateway claims 60 kWh more of the month already used: the cents are right for that
    # claim (re-rating the charge from its own fields agrees), but the readings say otherwise.
    assert meter.month_to_date is not None
    meter.month_to_date = msgspec.structs.replace(
        meter.month_to_date, consumed=meter.month_to_date.consumed + Decimal(60_000)
    )
    forged_charges = bill(gateway, meter, site, 60, "4000")
    forged = forged_charges[0]

    await upload(client, gateway, 0)

    flagged = await findings(engine, site)
    assert [f.seq for f in flagged] == charge_seqs(gateway, forged.reading_seq or 0)
    finding = flagged[0]
    true_before = forged.month_to_date_quantity_before - 60_000
    assert (
        f"month_to_date_quantity_before {forged.month_to_date_quantity_before} "
        f"where the readings give {true_before}"
    ) in finding.detail


async def test_a_reading_without_its_charge_is_flagged_once_the_next_batch_shows_none_followed(
    client: httpx.AsyncClient, engine: AsyncEngine, site: Site, gateway: SimulatedGateway, meter: MeterState
) -> None:
    commission(gateway, site, meter)
    bill(gateway, meter, site, 60, "4000")
    meter.register += Decimal(3000)
    meter.read_at += timedelta(minutes=60)
    unbilled_seq = journal_reading(gateway, site, meter.register, meter.read_at)

    # The batch ends right after the reading: its charges could still be in the next one.
    sent = await upload(client, gateway, 0)
    assert await findings(engine, site) == []

    bill(gateway, meter, site, 60, "2000")
    await upload(client, gateway, sent)

    [finding] = await findings(engine, site)
    assert (finding.seq, finding.charged_cents) == (unbilled_seq, 0)
    assert finding.rerated_cents is not None and finding.rerated_cents > 0
    assert "the register moved 3000" in finding.detail and "not journalled" in finding.detail


async def test_a_charge_that_cites_no_reading_before_it_is_flagged(
    client: httpx.AsyncClient, engine: AsyncEngine, site: Site, gateway: SimulatedGateway, meter: MeterState
) -> None:
    commission(gateway, site, meter)
    [charge, *_] = bill(gateway, meter, site, 60, "4000")
    gateway.alarm(str(site.meter_id), AlarmKind.TAMPER, "cover opened")
    stray_seq = gateway.append(charge)

    await upload(client, gateway, 0)

    [finding] = await findings(engine, site)
    assert finding.seq == stray_seq
    assert f"charge cites reading {charge.reading_seq}, which is not a reading" in finding.detail


async def test_seventy_two_correct_readings_across_batches_and_a_month_end_flag_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine, site: Site, gateway: SimulatedGateway, meter: MeterState
) -> None:
    commission(gateway, site, meter)
    # Every 8 hours for 24 days, from 20 November: into December, through every block.
    for index in range(72):
        bill(gateway, meter, site, 480, str(9_000 + 1_000 * (index % 5)))
    last = decode_entry(gateway.entries[-1]).body
    assert isinstance(last, Charge) and last.interval_end.month == 12

    # Batches of 7 entries end between readings and their charges again and again.
    await upload(client, gateway, 0, batch_size=7)

    assert await findings(engine, site) == []


def replace_meter(
    gateway: SimulatedGateway,
    site: Site,
    meter: MeterState,
    *,
    final: Decimal,
    first: Decimal,
    bill_old: bool,
) -> int:
    """Journal a meter swap as the gateway's billing does: ``meter_replaced`` dated halfway to the
    next reading, the old meter's charges up to its final register (citing the replacement's seq,
    unless ``bill_old`` is false), and the new meter's baseline."""
    replaced_at = meter.read_at + timedelta(minutes=30)
    replaced_seq = gateway.append(
        MeterReplaced(
            meter_id=str(site.meter_id),
            old_serial="SN-OLD",
            new_serial="SN-NEW",
            old_final_register=final,
            new_first_register=first,
            replaced_at=replaced_at,
        )
    )
    if bill_old:
        tariff, running, carry = electricity(site)["tariff"], meter.month_to_date, meter.carry
        result = rate_interval(tariff, meter.read_at, replaced_at, final - meter.register, running)
        for piece in result.charges:
            month_start = tariff.plan_at(tariff.instant_us(piece.start)).month_start
            before = (
                running if running and running.month_start == month_start else MonthToDate(month_start, ZERO)
            )
            carried = charge_with_carry(piece.amount, carry)
            gateway.append(
                Charge(
                    meter_id=str(site.meter_id), wallet_id=str(site.wallet_id), utility=Utility.ELECTRICITY,
                    pocket=Pocket.ELECTRICITY, reading_seq=replaced_seq, interval_start=piece.start,
                    interval_end=piece.end, quantity=piece.quantity, band=piece.band,
                    tariff_version=piece.tariff_version, amount_cents=carried.cents,
                    month=before.month_start.strftime("%Y-%m"),
                    month_to_date_quantity_before=before.consumed, carry_before=carry,
                )
            )  # fmt: skip
            running, carry = MonthToDate(month_start, before.consumed + piece.quantity), carried.carry
        meter.month_to_date, meter.carry = result.state, carry
    meter.register, meter.read_at = first, replaced_at
    return replaced_seq


async def test_a_meter_replaced_mid_sequence_restarts_the_baseline_and_flags_nothing(
    client: httpx.AsyncClient, engine: AsyncEngine, site: Site, gateway: SimulatedGateway, meter: MeterState
) -> None:
    commission(gateway, site, meter)
    for _ in range(5):
        bill(gateway, meter, site, 60, "3000")
    # The installer read 700 Wh more on the old meter; the new one starts at 12 Wh.
    replace_meter(gateway, site, meter, final=meter.register + 700, first=Decimal(12), bill_old=True)
    sent = await upload(client, gateway, 0, batch_size=9)
    for _ in range(5):
        bill(gateway, meter, site, 60, "3000")

    await upload(client, gateway, sent, batch_size=4)

    assert await findings(engine, site) == []
    # Without the replacement the drop from 1 015 700 Wh to 3 012 Wh would have billed nothing.
    last = decode_entry(gateway.entries[-2]).body
    assert isinstance(last, Charge) and last.quantity == 3000


async def test_a_replaced_meter_whose_final_consumption_is_not_charged_is_flagged(
    client: httpx.AsyncClient, engine: AsyncEngine, site: Site, gateway: SimulatedGateway, meter: MeterState
) -> None:
    commission(gateway, site, meter)
    for _ in range(2):
        bill(gateway, meter, site, 60, "3000")
    replaced_seq = replace_meter(
        gateway, site, meter, final=meter.register + 700, first=Decimal(0), bill_old=False
    )
    bill(gateway, meter, site, 60, "3000")

    await upload(client, gateway, 0)

    [finding] = await findings(engine, site)
    assert (finding.seq, finding.charged_cents) == (replaced_seq, 0)
    assert "the register moved 700" in finding.detail


async def test_charges_for_a_meter_the_cloud_no_longer_bills_are_re_rated_from_their_own_fields(
    client: httpx.AsyncClient, engine: AsyncEngine, site: Site, gateway: SimulatedGateway, meter: MeterState
) -> None:
    # The unit's wallet closed in the cloud; the gateway, still on its old config, bills on.
    async with transaction(engine) as session:
        await close_wallet(session, EVERYTHING, ADMIN, site.wallet_id)
    commission(gateway, site, meter)
    bill(gateway, meter, site, 60, "4000")
    bill(gateway, meter, site, 60, "4000")
    [charge, *_] = bill(gateway, meter, site, 60, "4000")
    overcharged_seq = gateway.append(msgspec.structs.replace(charge, amount_cents=charge.amount_cents + 40))

    # Batches of 2 end between readings and their charges.
    await upload(client, gateway, 0, batch_size=2)

    [finding] = await findings(engine, site)
    assert (finding.seq, finding.charged_cents, finding.rerated_cents) == (
        overcharged_seq,
        charge.amount_cents + 40,
        charge.amount_cents,
    )

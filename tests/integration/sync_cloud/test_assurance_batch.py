"""Revenue assurance rates each interval once per batch: charges sharing an interval share the
rating, and each is still judged on its own band, month, carry and cents."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import msgspec

from cloud.gateways.assurance import RatingKey, rerate
from shared.journal import Charge, Pocket
from shared.tariffs import RatingResult
from tests.integration.sync_cloud.conftest import TARIFF_TEXT
from tests.integration.sync_cloud.gateway import T0, MeterState, SimulatedGateway, compiled, new_key


def billed_charges() -> list[Charge]:
    """The charges the edge journals for one meter over two readings of the inclining-block tariff."""
    gateway = SimulatedGateway("1", new_key())
    meter = MeterState(register=Decimal("1000000"), read_at=T0)
    tariff = compiled(TARIFF_TEXT)
    charges = []
    for minutes, register in ((60, "1008000"), (120, "1016000")):
        charges += gateway.read_and_bill(
            tariff,
            meter,
            meter_id="7",
            wallet_id="3",
            pocket=Pocket.ELECTRICITY,
            register=Decimal(register),
            read_at=T0 + timedelta(minutes=minutes),
        )
    return charges


def test_charges_sharing_an_interval_share_its_rating_and_are_judged_each_on_its_own() -> None:
    tariff = compiled(TARIFF_TEXT)
    charges = billed_charges()
    first = charges[0]
    overcharged = msgspec.structs.replace(first, amount_cents=first.amount_cents + 40)
    mislabelled = msgspec.structs.replace(first, month="2026-10")
    ratings: dict[RatingKey, RatingResult | str] = {}

    findings = [
        rerate(tariff, seq, charge, ratings)
        for seq, charge in enumerate([*charges, overcharged, mislabelled], start=1)
    ]

    assert findings[: len(charges)] == [None] * len(charges)  # what the edge charged re-rates the same
    over, wrong_month = findings[len(charges) :]
    assert over is not None and (over.rerated_cents, over.charge.amount_cents) == (
        first.amount_cents,
        first.amount_cents + 40,
    )
    assert wrong_month is not None and wrong_month.rerated_cents is None
    assert "month 2026-10 is not the month the interval starts in" in wrong_month.detail
    # One rating per distinct interval, quantity and month state: the overcharge was answered from
    # its original's rating, only the other month label needed one of its own.
    distinct = {
        (c.month, c.interval_start, c.interval_end, c.quantity, c.month_to_date_quantity_before)
        for c in charges
    }
    assert len(ratings) == len(distinct) + 1

"""The balance the gateway enforces: cloud balance as of seq N minus its own later charges."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from shared.journal import (
    GENESIS,
    Body,
    Charge,
    Entry,
    Pocket,
    RelayAction,
    RelayCommand,
    RelayReason,
    next_entry,
)
from shared.quantities import Utility
from shared.sync import PocketBalance, cached_balance_cents
from tests.unit.journal.samples import T0


def charge(cents: int, *, wallet: str = "w-1", pocket: Pocket = Pocket.ELECTRICITY) -> Charge:
    return Charge(
        meter_id="m-1",
        wallet_id=wallet,
        utility=Utility.ELECTRICITY,
        pocket=pocket,
        reading_seq=None,
        interval_start=T0,
        interval_end=T0,
        quantity=Decimal(1),
        band="flat",
        tariff_version="v1",
        amount_cents=cents,
        month="2026-11",
        month_to_date_quantity_before=Decimal(0),
        carry_before=Decimal(0),
    )


def journal(*bodies: Body) -> list[Entry]:
    entries, head = [], GENESIS
    for minute, body in enumerate(bodies):
        entry = next_entry(head, body, recorded_at=T0 + timedelta(minutes=minute))
        entries.append(entry)
        head = entry.head
    return entries


def balance(cents: int, posted_through_seq: int, pocket: Pocket = Pocket.ELECTRICITY) -> PocketBalance:
    return PocketBalance(
        wallet_id="w-1", pocket=pocket, balance_cents=cents, posted_through_seq=posted_through_seq
    )


def test_charges_the_cloud_has_not_posted_yet_are_subtracted() -> None:
    entries = journal(charge(100), charge(250), charge(40))  # seqs 1, 2, 3
    assert cached_balance_cents(balance(5_000, posted_through_seq=1), entries) == 5_000 - 250 - 40


def test_charges_already_posted_are_not_subtracted_twice() -> None:
    entries = journal(charge(100), charge(250))
    assert cached_balance_cents(balance(4_650, posted_through_seq=2), entries) == 4_650


def test_other_pockets_wallets_and_facts_do_not_count() -> None:
    entries = journal(
        charge(100),
        charge(70, pocket=Pocket.WATER),
        charge(30, wallet="w-2"),
        RelayCommand(
            meter_id="m-1", command_id="c-1", action=RelayAction.OPEN, reason=RelayReason.CREDIT_EXHAUSTED
        ),
        charge(5),
    )
    assert cached_balance_cents(balance(1_000, posted_through_seq=0), entries) == 1_000 - 100 - 5
    assert cached_balance_cents(balance(300, posted_through_seq=0, pocket=Pocket.WATER), entries) == 230


def test_a_top_up_reported_while_offline_charges_pile_up_is_not_lost() -> None:
    # Three days offline: the cloud last posted through seq 1; a top-up of R100 arrives in the
    # next balance, and every charge since seq 1 is still taken off it.
    offline = journal(charge(500), *[charge(20) for _ in range(72)])
    assert (
        cached_balance_cents(balance(-500 + 10_000 + 500, posted_through_seq=1), offline) == 10_000 - 72 * 20
    )


def test_an_overdrawn_balance_stays_negative() -> None:
    assert cached_balance_cents(balance(50, posted_through_seq=0), journal(charge(80))) == -30

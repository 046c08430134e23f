"""Journal intake through the real ASGI app: stored unchanged, postings exactly once, refusals, balances."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.database.session import transaction
from shared.journal import AlarmKind, Charge, Pocket
from shared.sync import AckStatus, BatchAck, cached_balance_cents, decode_ack, encode_message, journal_batch
from shared.sync.gateway_api import JOURNAL_PATH
from tests.integration.sync_cloud.conftest import OPENING_BALANCE_CENTS, Site, electricity
from tests.integration.sync_cloud.gateway import T0, MeterState, SimulatedGateway

pytestmark = pytest.mark.anyio


async def send(client: httpx.AsyncClient, gateway: SimulatedGateway, first: int, last: int) -> BatchAck:
    return await send_body(client, gateway, gateway.batch(first, last))


async def send_body(client: httpx.AsyncClient, gateway: SimulatedGateway, body: bytes) -> BatchAck:
    response = await client.post(
        JOURNAL_PATH, content=body, headers=gateway.headers("POST", JOURNAL_PATH, body)
    )
    assert response.status_code == 200, response.text
    return decode_ack(response.content)


async def scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with transaction(engine) as session:
        return (await session.execute(text(sql), params)).scalar_one()


async def charge_postings(engine: AsyncEngine, site: Site) -> tuple[int, int]:
    """How many postings this gateway's charges made, and the cents they moved."""
    return tuple(
        await _row(
            engine,
            "SELECT count(*), COALESCE(sum(amount_cents), 0) FROM ledger_postings "
            "WHERE idempotency_key LIKE :key",
            key=f"gateway:{site.gateway_id}:seq:%",
        )
    )


async def _row(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with transaction(engine) as session:
        return (await session.execute(text(sql), params)).one()


def bill(gateway: SimulatedGateway, meter: MeterState, site: Site, minutes: int, wh: str) -> list[Charge]:
    return gateway.read_and_bill(
        register=meter.register + Decimal(wh),
        read_at=meter.read_at + timedelta(minutes=minutes),
        meter=meter,
        **electricity(site),
    )


def journalled_cents(gateway: SimulatedGateway, upto: int | None = None) -> int:
    from shared.journal import decode_entry

    bodies = [decode_entry(e).body for e in gateway.entries[:upto]]
    return sum(b.amount_cents for b in bodies if isinstance(b, Charge))


async def test_an_accepted_batch_is_stored_unchanged_posted_once_and_answered_with_balances(
    client: httpx.AsyncClient, engine: AsyncEngine, site: Site, gateway: SimulatedGateway, meter: MeterState
) -> None:
    for minutes, wh in ((60, "12000"), (60, "30000"), (1440, "55000")):
        bill(gateway, meter, site, minutes, wh)
    gateway.alarm(str(site.meter_id), AlarmKind.TAMPER, "terminal cover opened")
    gateway.relay_state(str(site.meter_id), closed=True)
    last = len(gateway.entries)

    ack = await send(client, gateway, 1, last)

    charged = journalled_cents(gateway)
    assert ack.status is AckStatus.ACCEPTED and ack.acknowledged_seq == last and ack.expected_seq is None
    assert ack.config_version == 1
    [balance] = [b for b in ack.balances if b.pocket is Pocket.ELECTRICITY]
    assert (balance.wallet_id, balance.balance_cents, balance.posted_through_seq) == (
        str(site.wallet_id),
        OPENING_BALANCE_CENTS - charged,
        last,
    )
    assert (
        await scalar(engine, "SELECT count(*) FROM gateway_journal WHERE gateway_id = :g", g=site.gateway_id)
        == last
    )
    stored = await scalar(
        engine, "SELECT entry FROM gateway_journal WHERE gateway_id = :g AND seq = 2", g=site.gateway_id
    )
    assert bytes(stored) == gateway.entries[1]
    assert await scalar(engine, "SELECT count(*) FROM gateway_readings") == 3
    assert await scalar(engine, "SELECT kind FROM gateway_alarms WHERE origin = 'gateway'") == "tamper"
    assert await scalar(engine, "SELECT closed FROM gateway_relay_states") is True
    assert (await charge_postings(engine, site))[1] == charged
    # Every charge was re-rated by the cloud to the same cents.
    assert await scalar(engine, "SELECT count(*) FROM gateway_charge_discrepancies") == 0


async def test_resent_and_overlapping_batches_post_each_charge_exactly_once(
    client: httpx.AsyncClient, engine: AsyncEngine, site: Site, gateway: SimulatedGateway, meter: MeterState
) -> None:
    for _ in range(4):
        bill(gateway, meter, site, 60, "9000")
    half = len(gateway.entries)
    for _ in range(4):
        bill(gateway, meter, site, 60, "9000")
    last = len(gateway.entries)

    first = await send(client, gateway, 1, half)
    again = await send(client, gateway, 1, half)
    overlap = await send(client, gateway, 2, last)
    tail_again = await send(client, gateway, half, last)

    assert [a.status for a in (first, again, overlap, tail_again)] == [
        AckStatus.ACCEPTED,
        AckStatus.DUPLICATE,
        AckStatus.ACCEPTED,
        AckStatus.DUPLICATE,
    ]
    assert tail_again.acknowledged_seq == last
    nonzero = sum(1 for e in gateway.entries if b'"type":"charge"' in e and b'"amount_cents":0,' not in e)
    assert await charge_postings(engine, site) == (nonzero, journalled_cents(gateway))


async def test_a_gap_is_refused_with_the_seq_expected_and_nothing_is_kept(
    client: httpx.AsyncClient, engine: AsyncEngine, site: Site, gateway: SimulatedGateway, meter: MeterState
) -> None:
    for _ in range(3):
        bill(gateway, meter, site, 60, "5000")
    await send(client, gateway, 1, 2)

    ack = await send(client, gateway, 4, len(gateway.entries))

    assert ack.status is AckStatus.GAP
    assert (ack.acknowledged_seq, ack.expected_seq) == (2, 3)
    assert await scalar(engine, "SELECT count(*) FROM gateway_journal") == 2
    # Resending from the seq the cloud expects takes the rest.
    assert (await send(client, gateway, 3, len(gateway.entries))).status is AckStatus.ACCEPTED


async def test_a_broken_chain_is_refused_kept_out_and_raised_as_an_alarm(
    client: httpx.AsyncClient, engine: AsyncEngine, site: Site, gateway: SimulatedGateway, meter: MeterState
) -> None:
    bill(gateway, meter, site, 60, "5000")
    bill(gateway, meter, site, 60, "5000")
    await send(client, gateway, 1, 1)
    entries = list(gateway.entries)
    charge_at = next(i for i, e in enumerate(entries) if i > 0 and b'"type":"charge"' in e)
    # Altered after sealing: a cheaper charge with the old hash.
    entries[charge_at] = entries[charge_at].replace(b'"amount_cents":', b'"amount_cents":1', 1)
    before = await charge_postings(engine, site)

    ack = await send_body(client, gateway, encode_message(journal_batch(gateway.gateway_id, entries[1:])))

    assert ack.status is AckStatus.BROKEN_CHAIN
    assert (ack.acknowledged_seq, ack.expected_seq) == (1, 2)
    assert await scalar(engine, "SELECT count(*) FROM gateway_journal") == 1
    assert await charge_postings(engine, site) == before
    detail = await scalar(
        engine, "SELECT detail FROM gateway_alarms WHERE origin = 'cloud' AND kind = 'broken_chain'"
    )
    assert "hash" in detail


async def test_a_resent_entry_that_differs_from_the_stored_one_is_a_broken_chain(
    client: httpx.AsyncClient, engine: AsyncEngine, site: Site, meter: MeterState, gateway: SimulatedGateway
) -> None:
    bill(gateway, meter, site, 60, "5000")
    await send(client, gateway, 1, len(gateway.entries))
    # A second journal from genesis (a gateway restored from an old backup, say) with other facts.
    impostor = SimulatedGateway(gateway.gateway_id, gateway.key, clock=T0 + timedelta(days=1))
    impostor.alarm(str(site.meter_id), AlarmKind.LEAK, "not what the cloud holds at seq 1")

    ack = await send(client, impostor, 1, 1)

    assert ack.status is AckStatus.BROKEN_CHAIN


async def test_balances_by_watermark_give_the_gateway_its_exact_balance_whatever_was_posted(
    client: httpx.AsyncClient, engine: AsyncEngine, site: Site, gateway: SimulatedGateway, meter: MeterState
) -> None:
    for _ in range(6):
        bill(gateway, meter, site, 30, "7000")
    journal = [
        msgspec.json.decode(e, type=__import__("shared.journal", fromlist=["Entry"]).Entry)
        for e in gateway.entries
    ]
    truth = OPENING_BALANCE_CENTS - journalled_cents(gateway)

    for upto in (3, 9, len(gateway.entries)):
        ack = await send(client, gateway, 1, upto)
        [balance] = [b for b in ack.balances if b.pocket is Pocket.ELECTRICITY]
        assert balance.posted_through_seq == upto
        assert cached_balance_cents(balance, journal) == truth


async def test_zero_cent_charges_are_stored_but_post_nothing_and_unknown_wallets_go_to_suspense(
    client: httpx.AsyncClient, engine: AsyncEngine, site: Site, gateway: SimulatedGateway, meter: MeterState
) -> None:
    [first, *_] = bill(gateway, meter, site, 60, "5000")
    zero = msgspec.structs.replace(first, amount_cents=0, interval_start=first.interval_end)
    zero_seq = gateway.append(zero)
    stray_seq = gateway.append(msgspec.structs.replace(first, wallet_id="424242", amount_cents=123))

    ack = await send(client, gateway, 1, len(gateway.entries))

    assert ack.status is AckStatus.ACCEPTED
    keys = {f"gateway:{site.gateway_id}:seq:{seq}" for seq in (zero_seq, stray_seq)}
    async with transaction(engine) as session:
        rows = (
            await session.execute(
                text(
                    "SELECT p.idempotency_key, a.kind FROM ledger_postings p JOIN ledger_accounts a ON a.id = p.debit_account_id "
                    "WHERE p.idempotency_key = ANY(:keys)"
                ),
                {"keys": list(keys)},
            )
        ).all()
    assert rows == [(f"gateway:{site.gateway_id}:seq:{stray_seq}", "suspense")]
    assert await scalar(engine, "SELECT kind FROM gateway_alarms WHERE origin = 'cloud'") == "unmapped_charge"


async def test_the_same_batch_sent_concurrently_is_stored_and_posted_once(
    client: httpx.AsyncClient, engine: AsyncEngine, site: Site, gateway: SimulatedGateway, meter: MeterState
) -> None:
    for _ in range(5):
        bill(gateway, meter, site, 60, "6000")
    last = len(gateway.entries)

    acks = await asyncio.gather(*(send(client, gateway, 1, last) for _ in range(4)))

    assert sorted(a.status for a in acks) == sorted([AckStatus.ACCEPTED] + [AckStatus.DUPLICATE] * 3)
    assert {a.acknowledged_seq for a in acks} == {last}
    assert await scalar(engine, "SELECT count(*) FROM gateway_journal") == last
    assert (await charge_postings(engine, site))[1] == journalled_cents(gateway)

"""Credit control as the agent runs it with sync: never from a balance it has not received, every
pocket of an answer at once, and operators' holds that credit control does not undo.

The agent talks to the test peer over real HTTP (acks, pushes); its relay is an obedient in-test
meter, so each test can say exactly when the relay was switched.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from edge_agent.status import status_json
from shared.credit import RelayState
from shared.journal import (
    Alarm,
    AlarmKind,
    Charge,
    CreditApplied,
    Pocket,
    RelayAction,
    RelayCommand,
    RelayReason,
    decode_entry,
)
from shared.sync import PocketBalance, RelayCommandPush
from tests.integration.sync_edge.helpers import GatewayUnderTest, document, enrolled_key, gateway
from tests.integration.sync_edge.peer import PeerState, serving
from tests.integration.sync_edge.test_balances_config import bodies
from tests.integration.sync_edge.test_push import RELAY_METER, credit, until, with_relay
from tests.integration.sync_edge.test_upload import journal

pytestmark = pytest.mark.anyio
ISSUED = datetime(2026, 8, 3, 10, 0, tzinfo=UTC)


def kinds(gw: GatewayUnderTest, kind: AlarmKind) -> list[Alarm]:
    return [b for b in bodies(gw.agent) if isinstance(b, Alarm) and b.kind is kind]


def relay_commands(gw: GatewayUnderTest) -> list[RelayCommand]:
    return [b for b in bodies(gw.agent) if isinstance(b, RelayCommand)]


def operator(command_id: str, action: RelayAction) -> RelayCommandPush:
    return RelayCommandPush(command_id=command_id, meter_id="m1", action=action, reason=RelayReason.OPERATOR,
                            issued_at=ISSUED)  # fmt: skip


def page_alarms(gw: GatewayUnderTest) -> set[str]:
    return {alarm.kind for alarm in gw.agent.status().meters[0].alarms}


async def test_no_relay_is_switched_before_the_first_balance_and_the_formula_holds_after_it(
    tmp_path: Path,
) -> None:
    state = PeerState(document=document(0, []))
    enrolled_key(tmp_path, state)
    async with serving(state) as url:
        async with gateway(tmp_path, url, meters=RELAY_METER) as gw:
            relay = with_relay(gw)
            for _ in range(3):
                await gw.read()
            assert gw.agent.billing.balance_of(gw.meter("m1")) is None
            assert gw.agent.status().meters[0].cached_balance_cents is None
        # A restart before the first balance: still waiting, and not journalled again.
        async with gateway(tmp_path, url, meters=RELAY_METER) as gw:
            relay = with_relay(gw)
            relay.closed = True
            await gw.read()
            await asyncio.sleep(0.1)
            assert relay.closed and relay_commands(gw) == [], "an unknown balance switches nothing"
            waiting = kinds(gw, AlarmKind.AWAITING_BALANCE)
            assert len(waiting) == 1 and "w1, electricity pocket" in waiting[0].detail
            assert kinds(gw, AlarmKind.LOW_CREDIT) == []
            charged = sum(b.amount_cents for b in bodies(gw.agent) if isinstance(b, Charge))
            assert charged > 0, "the readings are charged all the same"

            # The first balance: R1.00 as of seq 2, less than what was charged since.
            state.balances = [PocketBalance(wallet_id="w1", pocket=Pocket.ELECTRICITY, balance_cents=100,
                                            posted_through_seq=2)]  # fmt: skip
            await gw.sync.sync_now()
            await until(lambda: gw.agent.relays.confirmed("m1") is RelayState.OPEN, "disconnection")
            entries = [decode_entry(e) for e in journal(gw.agent)]
            after = sum(e.body.amount_cents for e in entries if isinstance(e.body, Charge) and e.seq > 2)
            assert gw.agent.billing.balance_of(gw.meter("m1")) == 100 - after
            assert [c.reason for c in relay_commands(gw)] == [RelayReason.CREDIT_EXHAUSTED]


async def test_every_pocket_of_one_answer_is_applied_in_one_transaction(tmp_path: Path) -> None:
    state = PeerState(document=document(0, []))
    enrolled_key(tmp_path, state)
    async with serving(state) as url, gateway(tmp_path, url) as gw:
        await gw.read()
        answer = [
            PocketBalance(wallet_id="w1", pocket=pocket, balance_cents=5000, posted_through_seq=0)
            for pocket in (Pocket.ELECTRICITY, Pocket.WATER, Pocket.SHARED)
        ]
        # A reading arriving meanwhile lands before or after the answer, never between its pockets.
        applied, _ = await asyncio.gather(gw.sync.balances.apply_all(answer), gw.read())
        assert applied == 3
        entries = [decode_entry(e) for e in journal(gw.agent)]
        credited = [e for e in entries if isinstance(e.body, CreditApplied)]
        assert [e.seq for e in credited] == list(range(credited[0].seq, credited[0].seq + 3))
        assert len({e.recorded_at for e in credited}) == 1


async def test_an_operators_open_holds_through_credit_and_a_restart_until_an_operators_close(
    tmp_path: Path,
) -> None:
    state = PeerState(document=document(0, []), push_hold_s=0.2)
    enrolled_key(tmp_path, state)
    async with serving(state) as url:
        async with gateway(tmp_path, url, meters=RELAY_METER) as gw:
            relay = with_relay(gw)
            await gw.agent.billing.apply_cloud_balance("w1", Pocket.ELECTRICITY, 50_000, 0)
            await gw.read()
            state.queue_push(operator("op-open", RelayAction.OPEN))
            assert await gw.sync.push.poll_once() == 1
            await until(lambda: gw.agent.relays.confirmed("m1") is RelayState.OPEN, "the operator's open")
            for _ in range(3):
                await gw.read()  # R500 of credit: without the hold these would close the relay
            await asyncio.sleep(0.1)
            assert not relay.closed
            assert "operator_hold" in page_alarms(gw)
        async with gateway(tmp_path, url, meters=RELAY_METER) as gw:
            relay = with_relay(gw)
            relay.closed = False
            await gw.read()
            await gw.agent.billing.apply_cloud_balance("w1", Pocket.ELECTRICITY, 60_000, 0)  # a top-up
            await asyncio.sleep(0.1)
            assert not relay.closed, "the hold survives a restart and a top-up"
            assert "operator_hold" in page_alarms(gw)
            shown = msgspec.json.decode(status_json(gw.agent.status()))["meters"][0]
            assert shown["relay_hold"] == "open" and shown["relay"] == "open"
            state.queue_push(operator("op-close", RelayAction.CLOSE))
            assert await gw.sync.push.poll_once() == 1
            await until(lambda: relay.closed, "the operator's close")
            await gw.read()
            assert "operator_hold" not in page_alarms(gw) and gw.agent.status().meters[0].relay_hold is None
            commands = [(c.command_id, c.action, c.reason) for c in relay_commands(gw)]
            assert kinds(gw, AlarmKind.OPERATOR_HOLD_RELEASED)
    # The first is credit control closing a relay it had never read (this agent is not running its
    # start-up read); after the operator's open it gave no command of its own.
    assert commands[0][2] is RelayReason.CREDIT_RESTORED
    assert commands[1:] == [
        ("op-open", RelayAction.OPEN, RelayReason.OPERATOR),
        ("op-close", RelayAction.CLOSE, RelayReason.OPERATOR),
    ]


async def test_an_operators_close_without_credit_is_an_emergency_reconnect_until_the_balance_changes(
    tmp_path: Path,
) -> None:
    state = PeerState(document=document(0, []), push_hold_s=0.2)
    enrolled_key(tmp_path, state)
    async with serving(state) as url, gateway(tmp_path, url, meters=RELAY_METER) as gw:
        relay = with_relay(gw)
        await gw.agent.billing.apply_cloud_balance("w1", Pocket.ELECTRICITY, 0, 0)
        await gw.read()
        await until(lambda: gw.agent.relays.confirmed("m1") is RelayState.OPEN, "disconnection at no credit")
        state.queue_push(operator("op-reconnect", RelayAction.CLOSE))
        assert await gw.sync.push.poll_once() == 1
        await until(lambda: gw.agent.relays.confirmed("m1") is RelayState.CLOSED, "the emergency reconnect")
        for _ in range(3):
            await gw.read()
        await asyncio.sleep(0.1)
        assert relay.closed, "the emergency reconnect is not undone by the next readings"
        assert gw.agent.status().meters[0].relay_hold == "closed"
        held = kinds(gw, AlarmKind.OPERATOR_HOLD)
        assert len(held) == 1 and "emergency reconnect" in held[0].detail
        # A levy in the cloud moves the balance: credit control decides again, and it is still due.
        state.queue_push(credit(-500, 0))
        assert await gw.sync.push.poll_once() == 1
        await until(
            lambda: gw.agent.relays.confirmed("m1") is RelayState.OPEN, "disconnection after the hold"
        )
        assert kinds(gw, AlarmKind.OPERATOR_HOLD_RELEASED)
        assert [c.reason for c in relay_commands(gw)] == [
            RelayReason.CREDIT_EXHAUSTED,
            RelayReason.OPERATOR,
            RelayReason.CREDIT_EXHAUSTED,
        ]

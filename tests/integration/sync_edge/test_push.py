"""The push channel: credit at once, operator relay commands journalled and confirmed, config notices,
and a cursor that makes every message apply exactly once, across a restart too."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from edge_agent.config import MeterConfig
from edge_agent.sync.store import push_cursor
from shared.credit import RelayState
from shared.journal import ConfigApplied, CreditApplied, Pocket, RelayAction, RelayCommand, RelayReason
from shared.sync import ConfigVersionNotice, CreditChanged, PocketBalance, RelayCommandPush
from tests.integration.sync_edge.helpers import GatewayUnderTest, cloud_meter, document, enrolled_key, gateway
from tests.integration.sync_edge.peer import PeerState, serving
from tests.integration.sync_edge.test_balances_config import bodies

pytestmark = pytest.mark.anyio

RELAY_METER = [("m1", "hiking-dds238-2", 1)]


@dataclass
class ObedientRelay:
    closed: bool = True

    async def switch(self, meter: MeterConfig, closed: bool) -> None:
        self.closed = closed

    async def read_state(self, meter: MeterConfig) -> bool:
        return self.closed


async def until(condition: object, what: str, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout_s}s"
        await asyncio.sleep(0.02)


def credit(cents: int, through: int) -> CreditChanged:
    return CreditChanged(balance=PocketBalance(wallet_id="w1", pocket=Pocket.ELECTRICITY, balance_cents=cents,
                                               posted_through_seq=through))  # fmt: skip


def with_relay(gw: GatewayUnderTest) -> ObedientRelay:
    relay = ObedientRelay()
    gw.agent.relays.actuator_for = lambda meter: relay
    return relay


async def test_pushed_credit_and_commands_apply_once_even_after_a_restart(tmp_path: Path) -> None:
    state = PeerState(document=document(0, []), push_hold_s=0.2)
    enrolled_key(tmp_path, state)
    async with serving(state) as url:
        async with gateway(tmp_path, url, meters=RELAY_METER) as gw:
            relay = with_relay(gw)
            await gw.agent.billing.apply_cloud_balance("w1", Pocket.ELECTRICITY, 0, 0)
            await gw.read()  # no credit: the relay opens
            await until(lambda: gw.agent.relays.confirmed("m1") is RelayState.OPEN, "disconnection")
            state.queue_push(credit(5000, 0))
            assert await gw.sync.push.poll_once() == 1
            await until(lambda: gw.agent.relays.confirmed("m1") is RelayState.CLOSED, "reconnection")
            issued = datetime(2026, 8, 3, 10, 0, tzinfo=UTC)
            state.queue_push(RelayCommandPush(command_id="op-1", meter_id="m1", action=RelayAction.OPEN,
                                              reason=RelayReason.OPERATOR, issued_at=issued))  # fmt: skip
            state.queue_push(RelayCommandPush(command_id="op-2", meter_id="nowhere", action=RelayAction.OPEN,
                                              reason=RelayReason.OPERATOR, issued_at=issued))  # fmt: skip
            assert await gw.sync.push.poll_once() == 2
            await until(
                lambda: gw.agent.relays.confirmed("m1") is RelayState.OPEN and not relay.closed, "open"
            )
            assert push_cursor(gw.agent.reader) == 3
            gw.sync.push.cursor = 0  # as if the agent died before saving the cursor: all three again
            assert await gw.sync.push.poll_once() == 3
        async with gateway(tmp_path, url, meters=RELAY_METER) as gw:
            assert gw.sync.push.cursor == 3, "the cursor survives a restart"
            assert await gw.sync.push.poll_once() == 0
            assert state.push_polls[-1] == 3
            entries = bodies(gw.agent)
    commands = [b for b in entries if isinstance(b, RelayCommand) and b.reason is RelayReason.OPERATOR]
    assert [(c.command_id, c.action) for c in commands] == [("op-1", RelayAction.OPEN)]
    credits = [b.cloud_balance_cents for b in entries if isinstance(b, CreditApplied)]
    assert credits == [0, 5000], "the first balance, then the pushed top-up, once"


async def test_a_long_poll_answers_as_soon_as_a_message_is_pushed(tmp_path: Path) -> None:
    state = PeerState(document=document(0, []), push_hold_s=5)
    enrolled_key(tmp_path, state)
    async with serving(state) as url, gateway(tmp_path, url) as gw:
        poll = asyncio.create_task(gw.sync.push.poll_once())
        await asyncio.sleep(0.3)
        started = time.monotonic()
        state.document = document(2, [cloud_meter("m1")])
        state.queue_push(ConfigVersionNotice(config_version=2))
        assert await poll == 1
        assert time.monotonic() - started < 1.0
        assert next(b for b in bodies(gw.agent) if isinstance(b, ConfigApplied)).version == 2

"""The running agent's sync loops against the peer and a simulated Modbus meter (real processes for
the meter, real HTTP for the cloud): the backlog drains on its own, a cloud away and back is
ridden out with backoff, and a top-up pushed by the cloud closes the relay on the meter itself.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from edge_agent.config import load_config
from edge_agent.daemon import GatewayAgent
from edge_agent.store.database import open_reader
from edge_agent.store.queries import acknowledged_seq, iter_encoded_entries, journal_length
from edge_agent.sync.backoff import Backoff
from firmware_profiles import packaged_registry
from shared.credit import RelayState
from shared.journal import Pocket
from shared.sync import CreditChanged, PocketBalance
from tests.e2e.test_edge_agent import relay_register, until
from tests.integration.sync_edge.helpers import document, edge_toml, enrolled_key
from tests.integration.sync_edge.peer import PeerState, serving
from tests.support.processes import simulator
from tests.support.services import free_port

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def test_the_running_agent_syncs_rides_out_an_outage_and_reconnects_on_a_pushed_top_up(
    tmp_path: Path,
) -> None:
    # The cloud's first answer says the wallet holds nothing: the relay opens.
    nothing = PocketBalance(wallet_id="w1", pocket=Pocket.ELECTRICITY, balance_cents=0, posted_through_seq=0)
    state = PeerState(document=document(0, []), push_hold_s=2, balances=[nothing])
    enrolled_key(tmp_path, state)
    port = free_port()
    with simulator(["1:hiking-dds238-2:3000"], tmp_path / "simulator.log", speedup=10) as modbus_port:
        text = edge_toml(tmp_path, f"http://127.0.0.1:{port}", modbus_port, [("m1", "hiking-dds238-2", 1)])
        agent = GatewayAgent(load_config(text, source=tmp_path / "edge.toml", registry=packaged_registry()))
        assert agent.sync is not None
        agent.sync.upload_backoff = Backoff(first_s=0.1, max_s=0.5)
        agent.sync.push_backoff = Backoff(first_s=0.1, max_s=0.5)
        stop = asyncio.Event()
        task = asyncio.create_task(agent.run(stop))
        try:
            async with serving(state, port):
                await until(lambda: agent.relays.confirmed("m1") is RelayState.OPEN, 20, "disconnection")
                await until(lambda: len(state.entries) >= 3, 20, "upload")
            # The cloud is away: the agent goes on reading and journalling.
            away_from = journal_length(agent.reader)
            await until(lambda: journal_length(agent.reader) > away_from + 3, 20, "journalling offline")
            async with serving(state, port):
                await until(
                    lambda: acknowledged_seq(agent.reader) > away_from + 3, 20, "the backlog draining"
                )
                state.queue_push(CreditChanged(balance=PocketBalance(
                    wallet_id="w1", pocket=Pocket.ELECTRICITY, balance_cents=5000,
                    posted_through_seq=acknowledged_seq(agent.reader))))  # fmt: skip
                await until(lambda: agent.relays.confirmed("m1") is RelayState.CLOSED, 20, "reconnection")
                assert await relay_register(modbus_port, 1) == 1, "the meter itself says the relay is closed"
                await until(
                    lambda: acknowledged_seq(agent.reader) >= journal_length(agent.reader) - 2, 20, "sync"
                )
        finally:
            stop.set()
            await task
    held = list(iter_encoded_entries(open_reader(tmp_path / "gw.sqlite3")))
    assert state.entries == held[: len(state.entries)], (
        "the cloud holds a prefix of the journal, byte for byte"
    )

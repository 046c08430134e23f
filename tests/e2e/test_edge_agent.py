"""The gateway agent against simulated meters on a real Modbus TCP bus (separate processes).

- the agent polls, journals readings and charges, opens a relay at zero credit and closes it after
  credit arrives (through ``apply_cloud_balance``, the function sync calls: no production command
  adds credit on a gateway), confirmed by reading the meter's relay register ourselves;
- the fault test kills the agent with SIGKILL again and again under load and restarts it: no
  committed entry is lost, the sequence has no gap, the chain verifies, SQLite's integrity_check
  is ok.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import sys
import time
from pathlib import Path

import pytest
from pymodbus.client import AsyncModbusTcpClient

from edge_agent.config import load_config
from edge_agent.daemon import GatewayAgent
from edge_agent.store.database import open_reader
from edge_agent.store.queries import iter_encoded_entries
from edge_agent.store.verify import verify_store
from firmware_profiles import packaged_registry
from shared.credit import RelayState
from shared.journal import Charge, Pocket, decode_entry
from tests.support.paths import REPO_ROOT
from tests.support.processes import running, simulator, stop, wait_until

pytestmark = pytest.mark.slow

FLAT = REPO_ROOT / "examples" / "tariffs" / "flat.toml"


def edge_toml(
    store: Path, port: int, meters: list[tuple[str, str, int, str | None]], web_port: int = 0, web: str = ""
) -> str:
    """A gateway on one Modbus TCP bus; meters as (id, profile, unit address, wallet)."""
    text = [
        f'[gateway]\nid = "gw-e2e"\nstore = "{store}"',
        f'[web]\nhost = "127.0.0.1"\nport = {web_port}\n{web}',
        f'[[buses]]\nid = "bus"\nkind = "tcp"\nhost = "127.0.0.1"\nport = {port}\ntimeout_ms = 1000',
        f'[tariffs]\nelectricity = "{FLAT}"',
        "[credit.electricity]\nreconnect_threshold_cents = 2000\nlow_credit_warning_cents = false",
    ]
    for meter_id, profile, address, wallet in meters:
        wallet_line = f'wallet = "{wallet}"' if wallet else ""
        text.append(
            f'[[meters]]\nid = "{meter_id}"\nunit = "{meter_id}"\nutility = "electricity"\nprofile = "{profile}"\n'
            f'bus = "bus"\naddress = {address}\npoll_interval_s = 1\n{wallet_line}'
        )
    return "\n".join(text)


async def relay_register(port: int, unit: int) -> int:
    """Read the DDS238-2's relay register 0x1A ourselves: the meter's word, not the agent's."""
    client = AsyncModbusTcpClient("127.0.0.1", port=port)
    await client.connect()
    try:
        answer = await client.read_holding_registers(0x1A, count=1, device_id=unit)
        return int(answer.registers[0])
    finally:
        client.close()


async def until(condition: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout_s}s")


@pytest.mark.anyio
async def test_agent_polls_bills_and_switches_the_relay_on_credit(tmp_path: Path) -> None:
    meters = ["1:hiking-dds238-2:3000", "2:eastron-sdm120:500"]
    # Ten simulated seconds a second: 3 kW looks like 30 kW to the agent, still a plausible load.
    with simulator(meters, tmp_path / "simulator.log", speedup=10) as port:
        config = load_config(
            edge_toml(tmp_path / "gw.sqlite3", port, [("unit-1", "hiking-dds238-2", 1, "w1"),
                                                       ("bulk", "eastron-sdm120", 2, None)]),
            source=tmp_path / "edge.toml", registry=packaged_registry(),
        )  # fmt: skip
        agent = GatewayAgent(config)
        stop_agent = asyncio.Event()
        task = asyncio.create_task(agent.run(stop_agent))
        try:
            # The cloud reports no credit at commissioning: the relay opens, and the meter itself says so.
            await agent.billing.apply_cloud_balance("w1", Pocket.ELECTRICITY, 0, 0)
            await until(lambda: agent.relays.confirmed("unit-1") is RelayState.OPEN, 20, "disconnection")
            assert await relay_register(port, 1) == 0
            # R50 arrives from the cloud: above the R20 minimum activation, the relay closes.
            await agent.billing.apply_cloud_balance("w1", Pocket.ELECTRICITY, 5000, 0)
            await until(lambda: agent.relays.confirmed("unit-1") is RelayState.CLOSED, 20, "reconnection")
            assert await relay_register(port, 1) == 1
            # Consumption flows again and is charged against the cached balance.
            await until(lambda: agent.billing.balance_of(config.meters[0]) < 5000, 20, "a charge")
            await until(lambda: agent.last_register.get("bulk") is not None, 20, "the bulk meter's reading")
        finally:
            stop_agent.set()
            await task
    bodies = [decode_entry(e).body for e in iter_encoded_entries(open_reader(tmp_path / "gw.sqlite3"))]
    charges = [b for b in bodies if isinstance(b, Charge)]
    assert charges and all(c.meter_id == "unit-1" for c in charges), "the bulk meter is read, never charged"
    assert verify_store(tmp_path / "gw.sqlite3").ok


def committed_head(store: Path) -> tuple[int, str] | None:
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1").fetchone()
    except sqlite3.Error:
        return None


def test_sigkill_under_load_loses_no_committed_entry(tmp_path: Path) -> None:
    rng = random.Random(20261122)
    units = 24
    meters = [
        f"{u}:{'hiking-dds238-2' if u % 2 else 'eastron-sdm120'}:{1000 + 50 * u}" for u in range(1, units + 1)
    ]
    store = tmp_path / "gw.sqlite3"
    with simulator(meters, tmp_path / "simulator.log", speedup=10) as port:
        config = tmp_path / "edge.toml"
        config.write_text(edge_toml(store, port, [
            (f"m{u}", "hiking-dds238-2" if u % 2 else "eastron-sdm120", u, f"w{u}") for u in range(1, units + 1)
        ]))  # fmt: skip
        command = [sys.executable, "-m", "edge_agent.entrypoints.cli", "run", "--config", str(config)]
        seen: list[tuple[int, str]] = []
        for _ in range(6):
            with running(command, tmp_path / "agent.log") as agent:
                wait_until(lambda: committed_head(store) is not None, 30, "the agent's first commit", agent)
                time.sleep(rng.uniform(1.0, 3.0))
                head = committed_head(store)
                assert head is not None
                seen.append(head)
                agent.kill()  # SIGKILL: no shutdown hook runs
                agent.wait()
        with running(command, tmp_path / "agent.log") as agent:  # one clean run after the last kill
            wait_until(lambda: (committed_head(store) or (0, ""))[0] > seen[-1][0], 30, "progress", agent)
            stop(agent)
    verdict = verify_store(store)
    assert verdict.ok, verdict.problem
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        for seq, digest in seen:
            row = db.execute("SELECT hash FROM journal WHERE seq = ?", (seq,)).fetchone()
            assert row is not None and row[0] == digest, f"committed entry {seq} was lost or changed"
    assert verdict.entries_verified > seen[-1][0] > seen[0][0] > 0

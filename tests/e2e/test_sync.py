"""Sync end to end with real processes: the cloud's gateway API on PostgreSQL, the gateway agent, and
a pymodbus meter simulator; the gateway enrolled with the installer's command.

One timeline, so the expensive parts (migrations, processes) are paid once:

1. enrol; the agent pulls its config from the cloud, uploads, hears its R30 and closes the relay;
2. the cloud is killed (SIGKILL) and stays away for 72 simulated hours while the agent, its clock
   running 28,800 times as fast (``QUANTIFY_EDGE_TEST_CLOCK_RATE``, shared epoch so restarts keep
   the timeline), goes on rating and enforcing: credit runs out and the relay opens on the meter;
3. the cloud comes back; a batch delivered again is answered ``duplicate``, a later batch delivered
   before an earlier one is refused as a ``gap``, and neither stores anything;
4. the backlog drains in batches of five while the agent and then the cloud are SIGKILLed in the
   middle of it; at the end the cloud holds the agent's journal byte for byte, every seq once;
5. a top-up through the cloud closes the relay on the simulated meter.

The cloud process is ``quantify-cloud serve`` on the test database; the agent process is
``quantify-edge run``, its test clock read from the environment (``edge_agent.config.test_clock``).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from edge_agent.config.test_clock import TEST_CLOCK_EPOCH_ENV, TEST_CLOCK_RATE_ENV
from tests.support.paths import REPO_ROOT
from tests.support.processes import running, simulator, stop, wait_until
from tests.support.services import free_port, port_answers

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

RATE = 28_800.0  # eight simulated hours per real second
OFFLINE = timedelta(hours=72)
OPENING_CENTS = 3_000  # above the R20 reconnection minimum; runs out within the 72 hours offline
TOP_UP_CENTS = 50_000
BATCH_ENTRIES = 5
BULK_METERS = 4
FLAT = REPO_ROOT / "examples" / "tariffs" / "flat.toml"


@dataclass(frozen=True)
class Site:
    database_url: str
    gateway_id: int
    pocket_id: int
    unit_meter_id: int


# --- the cloud side, through its own services (as an admin's tools would) ---------------------


@asynccontextmanager
async def cloud_session(database_url: str) -> Any:
    from cloud.database.session import create_engine, transaction

    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        async with transaction(engine) as session:
            yield session
    finally:
        await engine.dispose()


async def make_site(database_url: str) -> Site:
    """An estate with unit A1 and its wallet, a gateway, the unit's DDS238-2 and bulk meters."""
    from cloud.database.session import create_engine
    from cloud.estates.metering import add_meter, add_tariff_version, register_gateway
    from cloud.estates.metering_models import MeterRole
    from cloud.gateways.config import set_meter_connection
    from cloud.payments.services import manual_top_up
    from shared.quantities import Utility
    from tests.integration.cloud.conftest import ADMIN, EVERYTHING, make_estate

    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        estate = await make_estate(engine, "Sync Park")
    finally:
        await engine.dispose()
    async with cloud_session(database_url) as session:
        gateway = await register_gateway(session, EVERYTHING, ADMIN, estate.estate_id, name="main")
        await add_tariff_version(session, EVERYTHING, ADMIN, estate.estate_id, FLAT.read_text())
        meters = [("hiking-dds238-2", MeterRole.UNIT, estate.unit_id)]
        meters += [("eastron-sdm120", MeterRole.BULK, None)] * BULK_METERS
        ids = []
        for address, (profile, role, unit_id) in enumerate(meters, start=1):
            meter = await add_meter(
                session, EVERYTHING, ADMIN, estate.estate_id, utility=Utility.ELECTRICITY,
                serial=f"SN-{address}", firmware_profile_id=profile, role=role, unit_id=unit_id,
                gateway_id=gateway.id,
            )  # fmt: skip
            await set_meter_connection(session, EVERYTHING, ADMIN, meter.id, bus="bus", address=address,
                                       poll_interval_s=1)  # fmt: skip
            ids.append(meter.id)
        pocket = estate.pocket("electricity")
        await manual_top_up(session, EVERYTHING, ADMIN, pocket, amount_cents=OPENING_CENTS,
                            idempotency_key="opening")  # fmt: skip
    return Site(database_url, gateway.id, pocket, ids[0])


async def enrolment_code(site: Site) -> str:
    from cloud.gateways.enrolment import create_enrolment_code
    from tests.integration.cloud.conftest import ADMIN, EVERYTHING

    async with cloud_session(site.database_url) as session:
        issued = await create_enrolment_code(
            session, EVERYTHING, ADMIN, site.gateway_id, timedelta(hours=1), now=datetime.now(UTC)
        )
    return issued.code


async def top_up(site: Site, cents: int, key: str) -> None:
    """Money in through the cloud's payments service, which pushes the new balance to the gateways."""
    from cloud.payments.services import manual_top_up
    from tests.integration.cloud.conftest import ADMIN, EVERYTHING

    async with cloud_session(site.database_url) as session:
        await manual_top_up(
            session, EVERYTHING, ADMIN, site.pocket_id, amount_cents=cents, idempotency_key=key
        )


def cloud_journal(site: Site) -> list[tuple[int, bytes]]:
    import psycopg

    with psycopg.connect(site.database_url) as db:
        rows = db.execute(
            "SELECT seq, entry FROM gateway_journal WHERE gateway_id = %s ORDER BY seq", (site.gateway_id,)
        ).fetchall()
    return [(int(seq), bytes(entry)) for seq, entry in rows]


# --- the gateway's side, read from its store -----------------------------------------------------


class Store:
    """Read-only looks into the agent's SQLite store while it runs."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def value(self, sql: str, *parameters: object) -> Any:
        try:
            with sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5) as db:
                row = db.execute(sql, parameters).fetchone()
        except sqlite3.Error:
            return None
        return None if row is None else row[0]

    def acknowledged(self) -> int:
        return int(self.value("SELECT acknowledged_seq FROM sync_state") or 0)

    def head(self) -> int:
        return int(self.value("SELECT COALESCE(MAX(seq), 0) FROM journal") or 0)

    def relay_closed(self, meter_id: int) -> bool | None:
        closed = self.value("SELECT closed FROM relay_state WHERE meter_id = ?", str(meter_id))
        return None if closed is None else bool(closed)

    def entries(self) -> list[tuple[int, bytes]]:
        with sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5) as db:
            rows = db.execute("SELECT seq, entry FROM journal ORDER BY seq").fetchall()
        return [(int(seq), bytes(entry)) for seq, entry in rows]


def agent_time(epoch: float) -> datetime:
    """The agent's clock as the test clock computes it (same epoch, same rate)."""
    return datetime.fromtimestamp(epoch + (time.time() - epoch) * RATE, UTC)


def relay_register(port: int, unit: int) -> int:
    from tests.e2e.test_edge_agent import relay_register as read

    return asyncio.run(read(port, unit))


# --- processes -------------------------------------------------------------------------------------


@contextmanager
def cloud(site: Site, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "cloud.entrypoints.cli", "serve", "--port", str(port)]
    with running(command, log, env={"DATABASE_URL": site.database_url}) as process:
        wait_until(lambda: port_answers("127.0.0.1", port, 0.2), 30, f"the cloud (see {log})", process)
        yield process


def agent_command(config: Path) -> list[str]:
    return [sys.executable, "-m", "edge_agent.entrypoints.cli", "run", "--config", str(config)]


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()


def enrol(cloud_url: str, code: str, config: Path) -> None:
    """``quantify-provision gateway enrol`` (in-process), then short sync intervals and batches."""
    from provisioning import enrol as enrolment

    parser = argparse.ArgumentParser()
    enrolment.register(parser.add_subparsers())
    args = parser.parse_args(
        ["gateway", "enrol", "--cloud", cloud_url, "--code", code, "--config", str(config)]
    )
    assert enrolment.run(args) == 0
    text = config.read_text().replace(
        "enabled = true", f"enabled = true\nsync_interval_s = 1\nbatch_entries = {BATCH_ENTRIES}"
    )
    config.write_text(text)


def test_72_hours_offline_then_a_drain_through_kills_and_a_top_up_closes_the_relay(
    tmp_path: Path, postgres_url: str
) -> None:
    from cloud.database.cli import upgrade_to_head

    upgrade_to_head(postgres_url)
    site = asyncio.run(make_site(postgres_url))
    meters = ["1:hiking-dds238-2:3000"] + [f"{a}:eastron-sdm120:2000" for a in range(2, BULK_METERS + 2)]
    port, store = free_port(), Store(tmp_path / "gw.sqlite3")
    config = tmp_path / "edge.toml"
    with simulator(meters, tmp_path / "simulator.log", speedup=10) as modbus_port:
        config.write_text(
            '[gateway]\nid = "pending"\nstore = "gw.sqlite3"\n[web]\nhost = "127.0.0.1"\nport = 0\n'
            f'[[buses]]\nid = "bus"\nkind = "tcp"\nhost = "127.0.0.1"\nport = {modbus_port}\ntimeout_ms = 1000\n'
        )
        epoch = time.time()
        env = {TEST_CLOCK_RATE_ENV: str(RATE), TEST_CLOCK_EPOCH_ENV: str(epoch)}
        agent_log, cloud_log = tmp_path / "agent.log", tmp_path / "cloud.log"
        unit_meter = site.unit_meter_id

        # 1. Enrolled and online: config pulled, journal uploaded, R30 heard, relay closed.
        with cloud(site, port, cloud_log) as cloud_process:
            enrol(f"http://127.0.0.1:{port}", asyncio.run(enrolment_code(site)), config)
            with running(agent_command(config), agent_log, env=env) as agent:
                wait_until(
                    lambda: store.value("SELECT config_version FROM sync_state") == 1, 30, "config", agent
                )
                wait_until(lambda: store.relay_closed(unit_meter) is True and store.acknowledged() > 0, 30,
                           "credit from the cloud closing the relay", agent)  # fmt: skip
                kill(cloud_process)  # 2. the cloud dies mid-conversation
                offline_from, acknowledged_then = agent_time(epoch), store.acknowledged()
                wait_until(lambda: agent_time(epoch) - offline_from >= OFFLINE and store.relay_closed(unit_meter)
                           is False, 40, "72 hours offline and the relay opened on exhausted credit", agent)  # fmt: skip
                assert relay_register(modbus_port, 1) == 0, "the meter itself says the supply is off"
                charges = store.value("SELECT COUNT(*) FROM journal WHERE kind = 'charge' AND seq > ?",
                                      acknowledged_then)  # fmt: skip
                assert charges > 10 and store.acknowledged() == acknowledged_then
                kill(agent)  # with its backlog undelivered

        # 3. Back: a resent batch is a duplicate, a batch ahead of its turn a gap; nothing stored.
        with cloud(site, port, cloud_log):
            held = cloud_journal(site)
            assert [seq for seq, _ in held] == list(range(1, len(held) + 1))
            mine = store.entries()
            delivered_again = mine[max(0, len(held) - BATCH_ENTRIES) : len(held)]  # all held already
            ahead_of_its_turn = mine[len(held) + 5 : len(held) + 10]  # its predecessors not yet sent
            statuses = asyncio.run(deliver(site, config, [delivered_again, ahead_of_its_turn]))
            assert statuses == ["duplicate", "gap"]
            assert cloud_journal(site) == held

            # 4. Drain, killing the agent in the middle of it.
            with running(agent_command(config), agent_log, env=env) as agent:
                wait_until(lambda: store.acknowledged() > len(held) + BATCH_ENTRIES, 30, "the drain", agent)
                kill(agent)
        with running(agent_command(config), agent_log, env=env) as agent:
            # ... and the cloud in the middle of it (the backlog grew meanwhile).
            with cloud(site, port, cloud_log) as cloud_process:
                wait_until(lambda: store.acknowledged() > len(held) + 3 * BATCH_ENTRIES, 30, "drain", agent)
                kill(cloud_process)
            with cloud(site, port, cloud_log):
                head = store.head()
                wait_until(lambda: store.acknowledged() >= head, 40, "the backlog drained", agent)

                # 5. A top-up through the cloud closes the relay on the meter.
                asyncio.run(top_up(site, TOP_UP_CENTS, "after-the-outage"))
                wait_until(lambda: store.relay_closed(unit_meter) is True, 20, "reconnection", agent)
                assert relay_register(modbus_port, 1) == 1, "the meter itself says the supply is on"
                wait_until(lambda: store.acknowledged() >= store.head() - 10, 20, "catching up", agent)
                stop(agent)
                held = cloud_journal(site)
    mine = store.entries()
    assert [seq for seq, _ in held] == list(range(1, len(held) + 1)), "no gap, no duplicate"
    assert held == mine[: len(held)], "the cloud holds the gateway's journal byte for byte"
    assert len(held) >= store.acknowledged() > acknowledged_then


async def deliver(site: Site, config: Path, batches: list[list[tuple[int, bytes]]]) -> list[str]:
    """Post batches signed with the gateway's own key; the statuses the cloud answered."""
    from edge_agent.config import load_config_file
    from edge_agent.sync.keys import load_key
    from edge_agent.sync.transport import CloudTransport
    from shared.sync import decode_ack, encode_message, journal_batch
    from shared.sync.gateway_api import JOURNAL_PATH

    loaded = load_config_file(config)
    assert loaded.cloud is not None
    transport = CloudTransport(loaded.cloud.url, loaded.gateway_id, load_key(loaded.cloud.key_file))
    try:
        statuses = []
        for batch in batches:
            body = encode_message(journal_batch(loaded.gateway_id, [entry for _, entry in batch]))
            statuses.append(str(decode_ack(await transport.request("POST", JOURNAL_PATH, body=body)).status))
        return statuses
    finally:
        await transport.aclose()

"""A meter swapped at a unit, end to end: ``quantify-cloud serve`` on PostgreSQL, the enrolled agent
and pymodbus meters (both in this process, so the test can take one meter off the bus and put a new
one with a low register at its address).

The installer records the swap through the cloud's API (``POST /api/v1/meters/{id}/replacement``
with the new serial and the two displays), the agent takes the new serial and the readings with the
config version the replacement records (told on its push channel), journals ``meter_replaced`` at
the new meter's first reading with the installer's registers and bills across the swap; the cloud
stores the entry with the rest of the journal and its revenue assurance finds nothing to flag.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import httpx
import psycopg
import pytest

from demo.simulator import MeterSimulator, SimClock, SimulatedMeter
from edge_agent.config import load_config_file
from edge_agent.daemon import GatewayAgent
from edge_agent.store.queries import acknowledged_seq, iter_encoded_entries, journal_length
from firmware_profiles import packaged_registry
from shared.journal import Alarm, AlarmKind, Charge, MeterReplaced, Reading, decode_entry
from tests.e2e.test_sync import Site, cloud, enrol, enrolment_code, make_site
from tests.support.services import free_port

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.anyio]

NEW_METER_WH = Decimal(300)
#: What the old meter advanced between the agent's last reading of it and its removal.
UNREAD_WH = Decimal(20)
INSTALLER = ("fitter@sync-park.example", "sync-park-fitter-1")


async def until(condition: Callable[[], object], what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout_s}s"
        await asyncio.sleep(0.1)


def meters(clock: SimClock, unit_meter: SimulatedMeter | None = None) -> list[SimulatedMeter]:
    registry = packaged_registry()
    unit = unit_meter or SimulatedMeter(
        1, registry.get("hiking-dds238-2"), load_w=Decimal(1000), at=clock.now()
    )
    bulk = [
        SimulatedMeter(a, registry.get("eastron-sdm120"), load_w=Decimal(2000), at=clock.now())
        for a in range(2, 6)
    ]
    return [unit, *bulk]


async def add_installer(site: Site) -> None:
    """An installer of the site's estate (what the managing agent's ``POST /api/v1/users`` does)."""
    from cloud.auth.models import Role
    from cloud.seed import ensure_user
    from tests.e2e.test_sync import cloud_session

    estate_id = cloud_value(site, "SELECT estate_id FROM gateways WHERE id = %s", site.gateway_id)
    assert isinstance(estate_id, int)
    async with cloud_session(site.database_url) as session:
        await ensure_user(session, *INSTALLER, Role.INSTALLER, estate_id=estate_id)


async def replace_meter(base_url: str, meter_id: int, body: dict[str, object]) -> dict[str, object]:
    """The installer signs in and records the new meter through the API."""
    async with httpx.AsyncClient(base_url=base_url) as client:
        email, password = INSTALLER
        login = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert login.status_code == 200, login.text
        session = login.cookies["quantify_session"]
        client.cookies.clear()
        answer = await client.post(
            f"/api/v1/meters/{meter_id}/replacement", json=body,
            headers={"Cookie": f"quantify_session={session}", "X-CSRF-Token": login.json()["csrf_token"]},
        )  # fmt: skip
    assert answer.status_code == 201, answer.text
    result: dict[str, object] = answer.json()
    return result


def cloud_value(site: Site, sql: str, *parameters: object) -> object:
    with psycopg.connect(site.database_url) as db:
        row = db.execute(sql, parameters).fetchone()
    return None if row is None else row[0]


async def test_a_meter_swapped_in_the_cloud_is_billed_across_and_nothing_is_flagged(
    tmp_path: Path, postgres_url: str
) -> None:
    from cloud.database.cli import upgrade_to_head

    upgrade_to_head(postgres_url)
    site = await make_site(postgres_url)
    await add_installer(site)
    unit = str(site.unit_meter_id)
    clock = SimClock(speedup=10)
    simulator = MeterSimulator(meters(clock), clock)
    modbus_port = await simulator.start_tcp()
    port, config = free_port(), tmp_path / "edge.toml"
    config.write_text(
        '[gateway]\nid = "pending"\nstore = "gw.sqlite3"\n[web]\nhost = "127.0.0.1"\nport = 0\n'
        f'[[buses]]\nid = "bus"\nkind = "tcp"\nhost = "127.0.0.1"\nport = {modbus_port}\ntimeout_ms = 300\n'
    )
    with cloud(site, port, tmp_path / "cloud.log"):
        base_url = f"http://127.0.0.1:{port}"
        await asyncio.to_thread(enrol, base_url, await enrolment_code(site), config)
        agent = GatewayAgent(load_config_file(config))
        stop = asyncio.Event()
        task = asyncio.create_task(agent.run(stop))
        try:
            await until(lambda: agent.billing.states[unit].serial == "SN-1", "the cloud's serial adopted")
            await until(lambda: len(charges(agent)) >= 4, "the old meter billed")
            # The swap: the old meter comes off the bus (its display a little past the agent's
            # last reading of it), the installer records it through the API, and the new meter
            # goes on once the agent has the new configuration.
            await simulator.stop()
            last_read = agent.billing.states[unit].register
            assert last_read is not None
            final_wh = last_read.value + UNREAD_WH
            replaced = await replace_meter(base_url, site.unit_meter_id, {
                "new_serial": "SN-1-NEW", "reason": "display faulty",
                "old_meter_final_reading": str(final_wh / 1000), "new_meter_first_reading": str(NEW_METER_WH / 1000),
            })  # fmt: skip
            assert replaced["old_serial"] == "SN-1"
            await until(lambda: agent.billing.meters[unit].meter.serial == "SN-1-NEW", "the new config")
            new_meter = SimulatedMeter(1, packaged_registry().get("hiking-dds238-2"), load_w=Decimal(1000),
                                       at=clock.now(), energy_import_wh=NEW_METER_WH)  # fmt: skip
            kept = [simulator.meter(a) for a in range(2, 6)]
            simulator = MeterSimulator([new_meter, *kept], clock)
            await simulator.start_tcp(port=modbus_port)
            await until(lambda: swaps(agent), "the replacement")
            swap_seq = next(seq for seq, body in bodies(agent) if isinstance(body, MeterReplaced))
            await until(
                lambda: len([c for c in charges(agent) if c[0] > swap_seq]) >= 6, "the new meter billed"
            )
            await until(lambda: acknowledged_seq(agent.reader) >= journal_length(agent.reader) - 5, "sync")
            journal = bodies(agent)
        finally:
            stop.set()
            await task
            await simulator.stop()
        stored = cloud_value(
            site, "SELECT count(*) FROM gateway_journal WHERE gateway_id = %s AND kind = 'meter_replaced'",
            site.gateway_id,
        )  # fmt: skip
        flagged = cloud_value(
            site, "SELECT count(*) FROM gateway_charge_discrepancies WHERE gateway_id = %s", site.gateway_id
        )
        raised = cloud_value(
            site,
            "SELECT count(*) FROM gateway_alarms WHERE gateway_id = %s AND origin = 'cloud'",
            site.gateway_id,
        )

    [swap] = [body for _, body in journal if isinstance(body, MeterReplaced)]
    assert (swap.old_serial, swap.new_serial) == ("SN-1", "SN-1-NEW")
    assert (swap.old_final_register, swap.new_first_register) == (final_wh, NEW_METER_WH), "the installer's"
    alarms = [body.kind for _, body in journal if isinstance(body, Alarm) and body.meter_id == unit]
    assert AlarmKind.REVERSE_REGISTER not in alarms and AlarmKind.IMPLAUSIBLE_READING not in alarms
    registers = [
        body.billing_register for _, body in journal if isinstance(body, Reading) and body.meter_id == unit
    ]
    energy = sum(body.quantity for _, body in journal if isinstance(body, Charge) and body.band == "flat")
    assert registers[0] is not None and registers[-1] is not None
    assert energy == (swap.old_final_register - registers[0]) + (registers[-1] - swap.new_first_register)
    assert stored == 1, "the cloud stores the meter_replaced entry with the journal"
    assert flagged == 0 and raised == 0, "revenue assurance flags nothing across the swap"


def bodies(agent: GatewayAgent) -> list[tuple[int, object]]:
    return [(entry.seq, entry.body) for entry in map(decode_entry, iter_encoded_entries(agent.reader))]


def charges(agent: GatewayAgent) -> list[tuple[int, Charge]]:
    return [(seq, body) for seq, body in bodies(agent) if isinstance(body, Charge)]


def swaps(agent: GatewayAgent) -> list[MeterReplaced]:
    return [body for _, body in bodies(agent) if isinstance(body, MeterReplaced)]

"""A relay command by hand, end to end with real processes: ``quantify-cloud serve`` on PostgreSQL,
``quantify-edge run`` enrolled with the installer's command, and a pymodbus DDS238-2.

A platform administrator signs in and posts ``open`` to the unit meter's relay; the cloud queues it
on the push channel, the agent journals it, switches the meter and reads the relay back, and the
journal's upload tells the cloud, whose command then reads ``confirmed`` with the meter's state.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_sync import (
    Site,
    Store,
    agent_command,
    cloud,
    cloud_session,
    enrol,
    enrolment_code,
    make_site,
)
from tests.support.processes import running, simulator, wait_until
from tests.support.services import free_port

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROOT_EMAIL = "root@relay.example"
ROOT_PASSWORD = "relay-root-password"


async def add_super_admin(site: Site) -> None:
    from cloud.auth.models import Role
    from cloud.seed import ensure_user

    async with cloud_session(site.database_url) as session:
        await ensure_user(session, ROOT_EMAIL, ROOT_PASSWORD, Role.SUPER_ADMIN)


def signed_in(base_url: str) -> httpx.Client:
    login = httpx.post(f"{base_url}/api/v1/auth/login", json={"email": ROOT_EMAIL, "password": ROOT_PASSWORD})
    login.raise_for_status()
    headers = {
        "Cookie": f"quantify_session={login.cookies['quantify_session']}",
        "X-CSRF-Token": login.json()["csrf_token"],
    }
    return httpx.Client(base_url=base_url, headers=headers, timeout=10)


def command_state(api: httpx.Client, meter_id: int, command_id: int) -> dict[str, Any]:
    response = api.get(f"/api/v1/meters/{meter_id}/relay-commands/{command_id}")
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def test_an_operators_open_command_reaches_the_meter_and_its_confirmation_comes_back(
    tmp_path: Path, postgres_url: str
) -> None:
    from cloud.database.cli import upgrade_to_head

    upgrade_to_head(postgres_url)
    site = asyncio.run(make_site(postgres_url))
    asyncio.run(add_super_admin(site))
    meters = ["1:hiking-dds238-2:3000"] + [f"{a}:eastron-sdm120:2000" for a in range(2, 6)]
    port, store, config = free_port(), Store(tmp_path / "gw.sqlite3"), tmp_path / "edge.toml"
    unit_meter = site.unit_meter_id
    with simulator(meters, tmp_path / "simulator.log", speedup=10) as modbus_port:
        config.write_text(
            '[gateway]\nid = "pending"\nstore = "gw.sqlite3"\n[web]\nhost = "127.0.0.1"\nport = 0\n'
            f'[[buses]]\nid = "bus"\nkind = "tcp"\nhost = "127.0.0.1"\nport = {modbus_port}\ntimeout_ms = 1000\n'
        )
        with cloud(site, port, tmp_path / "cloud.log"):
            base_url = f"http://127.0.0.1:{port}"
            enrol(base_url, asyncio.run(enrolment_code(site)), config)
            with running(agent_command(config), tmp_path / "agent.log") as agent, signed_in(base_url) as api:
                wait_until(
                    lambda: store.relay_closed(unit_meter) is True, 30, "credit closing the relay", agent
                )

                queued = api.post(
                    f"/api/v1/meters/{unit_meter}/relay",
                    json={"action": "open", "reason": "meter swap"},
                    headers={"Idempotency-Key": "swap-1"},
                )
                assert queued.status_code == 201, queued.text
                command = queued.json()
                wait_until(
                    lambda: command_state(api, unit_meter, command["id"])["outcome"] != "pending",
                    30,
                    "the command's outcome in the cloud",
                    agent,
                )
                outcome = command_state(api, unit_meter, command["id"])

    assert outcome["outcome"] == "confirmed", outcome
    assert outcome["relay_closed"] is False, "the meter read back an open relay"
    assert outcome["command_id"] == command["command_id"] and outcome["observed_at"] is not None

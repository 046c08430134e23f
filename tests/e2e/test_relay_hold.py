"""An operator's relay command holds, end to end with real processes: ``quantify-cloud serve`` on
PostgreSQL, ``quantify-edge run`` enrolled with the installer's command, and a pymodbus DDS238-2.

The wallet is in credit, so before operator holds the next reading's credit decision closed a relay
an operator had opened. Now the relay stays open, reading after reading, until the operator closes
it; the meter's own relay register says so each time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.e2e.test_relay_command import add_super_admin, command_state, signed_in
from tests.e2e.test_sync import (
    Store,
    agent_command,
    cloud,
    enrol,
    enrolment_code,
    make_site,
    relay_register,
)
from tests.support.processes import running, simulator, wait_until
from tests.support.services import free_port

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
T = TypeVar("T")


def aside(call: Callable[..., T], *args: Any) -> T:
    """Run ``call`` in a thread of its own: Playwright's sync API holds this thread's event loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call, *args).result()


def test_an_operators_open_holds_against_credit_until_the_operator_closes_it(
    tmp_path: Path, postgres_url: str, browser: Any
) -> None:
    from cloud.database.cli import upgrade_to_head

    upgrade_to_head(postgres_url)
    site = aside(asyncio.run, make_site(postgres_url))
    aside(asyncio.run, add_super_admin(site))
    port, store, config = free_port(), Store(tmp_path / "gw.sqlite3"), tmp_path / "edge.toml"
    web_port = free_port()
    unit_meter = site.unit_meter_id
    hold_sql = "SELECT hold FROM relay_hold WHERE meter_id = ?"
    meters = ["1:hiking-dds238-2:3000"] + [f"{a}:eastron-sdm120:2000" for a in range(2, 6)]
    with simulator(meters, tmp_path / "simulator.log", speedup=10) as modbus_port:
        config.write_text(
            '[gateway]\nid = "pending"\nstore = "gw.sqlite3"\n[web]\nhost = "127.0.0.1"\n'
            f"port = {web_port}\n"
            f'[[buses]]\nid = "bus"\nkind = "tcp"\nhost = "127.0.0.1"\nport = {modbus_port}\ntimeout_ms = 1000\n'
        )
        with cloud(site, port, tmp_path / "cloud.log"):
            base_url = f"http://127.0.0.1:{port}"
            aside(enrol, base_url, aside(asyncio.run, enrolment_code(site)), config)
            with running(agent_command(config), tmp_path / "agent.log") as agent, signed_in(base_url) as api:
                wait_until(
                    lambda: store.relay_closed(unit_meter) is True, 30, "credit closing the relay", agent
                )

                def switch(action: str, key: str) -> dict[str, object]:
                    queued = api.post(f"/api/v1/meters/{unit_meter}/relay", json={"action": action, "reason": "meter swap"},
                                      headers={"Idempotency-Key": key})  # fmt: skip
                    assert queued.status_code == 201, queued.text
                    command = queued.json()
                    wait_until(
                        lambda: command_state(api, unit_meter, command["id"])["outcome"] != "pending",
                        30, f"the {action} command's outcome in the cloud", agent,
                    )  # fmt: skip
                    return command_state(api, unit_meter, command["id"])

                opened = switch("open", "hold-1")
                assert store.value(hold_sql, str(unit_meter)) == "open"
                held_from = store.head()
                wait_until(lambda: store.head() > held_from + 30, 30, "readings while held", agent)
                still_open = (
                    store.relay_closed(unit_meter) is False and aside(relay_register, modbus_port, 1) == 0
                )
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{web_port}/")
                relay_cell = page.locator(f"#meter-{unit_meter} [data-label=Relay]").inner_text()
                page.close()

                closed = switch("close", "hold-2")
                wait_until(
                    lambda: store.value(hold_sql, str(unit_meter)) is None, 10, "the hold's end", agent
                )
                wait_until(
                    lambda: store.acknowledged() >= store.head() - 2, 30, "the journal reaching the cloud"
                )

    assert opened["outcome"] == "confirmed" and opened["relay_closed"] is False
    assert still_open, "credit control left the operator's open relay open, in credit, reading after reading"
    assert "Open" in relay_cell and "Held open by an operator" in relay_cell, relay_cell
    assert closed["outcome"] == "confirmed" and closed["relay_closed"] is True

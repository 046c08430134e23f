"""The real agent's local page in headless Chromium: what the estate sees, what the installer does.

The agent runs as ``quantify-edge run`` against simulated meters on a real Modbus TCP bus; the page
must show each meter's reading, health, confirmed relay state and cached balance, and an installer's
relay test must switch the relay away and back, each step confirmed by the meter and journalled.
"""

from __future__ import annotations

import json
import re
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from edge_agent.store.database import open_reader
from edge_agent.store.queries import iter_encoded_entries
from edge_agent.web import hash_password
from shared.journal import RelayCommand, RelayReason, decode_entry
from tests.e2e.test_edge_agent import edge_toml
from tests.support.processes import running, simulator, wait_until
from tests.support.services import free_port

pytestmark = pytest.mark.slow

PASSWORD = "estate installer 42"


def api_status(base: str) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"{base}/api/status", timeout=2) as response:
            return json.load(response)  # type: ignore[no-any-return]
    except OSError:
        return None


def meters_read(base: str) -> bool:
    status = api_status(base)
    return status is not None and all(meter["register"] is not None for meter in status["meters"])


def test_the_agents_page_shows_its_meters_and_runs_an_installer_relay_test(
    tmp_path: Path, browser: Any
) -> None:
    web_port = free_port()
    base = f"http://127.0.0.1:{web_port}"
    password_line = f'installer_password_hash = "{hash_password(PASSWORD)}"'
    with simulator(
        ["1:hiking-dds238-2:2000", "2:eastron-sdm120:800"], tmp_path / "sim.log", speedup=10
    ) as port:
        config = tmp_path / "edge.toml"
        config.write_text(edge_toml(tmp_path / "gw.sqlite3", port, [("unit-1", "hiking-dds238-2", 1, "w1"),
                                                                     ("bulk", "eastron-sdm120", 2, None)],
                                    web_port=web_port, web=password_line))  # fmt: skip
        command = [sys.executable, "-m", "edge_agent.entrypoints.cli", "run", "--config", str(config)]
        with running(command, tmp_path / "agent.log") as agent:
            wait_until(lambda: meters_read(base), 30, "both meters on the page", agent)
            context = browser.new_context(viewport={"width": 375, "height": 667})
            page = context.new_page()
            page.goto(base)
            unit = page.locator("#meter-unit-1")
            bulk = page.locator("#meter-bulk")
            assert "electricity" in unit.inner_text() and "kWh" in unit.inner_text()
            # No balance has come from the cloud: credit control waits, and the relay stays as the
            # meter itself confirmed it (closed), not opened as if the balance were zero.
            assert "closed" in unit.locator("[data-label=Relay]").inner_text().lower()
            assert (
                "waiting for the cloud's first balance" in unit.locator("[data-label=Balance]").inner_text()
            )
            assert "no relay" in bulk.locator("[data-label=Relay]").inner_text().lower()
            assert "online" in bulk.inner_text().lower()
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 375, "no horizontal scrolling on a phone"
            page.screenshot(path=str(tmp_path / "gateway-phone.png"), full_page=True)

            page.goto(f"{base}/login")
            page.get_by_label("Installer password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            expect(page).to_have_url(re.compile(r"/#installer$"))
            page.get_by_label("Meter", exact=True).select_option("unit-1")
            page.get_by_role("button", name=re.compile("Relay test")).click()
            expect(page.get_by_role("status")).to_contain_text("relay test passed", timeout=30_000)
            page.screenshot(path=str(tmp_path / "gateway-relay-test.png"), full_page=True)
            context.close()

    bodies = [decode_entry(e).body for e in iter_encoded_entries(open_reader(tmp_path / "gw.sqlite3"))]
    tests = [b for b in bodies if isinstance(b, RelayCommand) and b.reason is RelayReason.INSTALLER_TEST]
    assert [c.action for c in tests] == ["open", "close"], "away from the confirmed state and back"

"""``make demo`` keeps working: it starts the real processes (cloud, worker, meters, gateway), answers,
and cleans up after itself. The five steps on the demo's fast clock: ``test_wallet_flow.py``."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from cloud.seed import demo_meters
from tests.support.paths import REPO_ROOT
from tests.support.services import free_port

pytestmark = pytest.mark.slow


def assert_demo_login_works(port: int) -> None:
    """The managing agent's printed login opens the seeded estate through the API."""
    from cloud.seed import ADMIN_EMAIL, ADMIN_PASSWORD

    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/auth/login",
        data=json.dumps({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        cookie = response.headers["Set-Cookie"].split(";", 1)[0]
    listing = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/estates", headers={"Cookie": cookie})
    with urllib.request.urlopen(listing, timeout=5) as response:
        estates = json.load(response)
    assert [estate["name"] for estate in estates] == ["Protea Gardens (demo)"]


def postgres_processes_in(directory: Path) -> list[str]:
    listing = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    return [line for line in listing.splitlines() if "postgres" in line and str(directory) in line]


def test_demo_starts_the_cloud_and_a_gateway_and_stops_everything(tmp_path: Path) -> None:
    port, page_port = free_port(), free_port()
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "demo",
            "--duration",
            "4",
            "--dir",
            str(tmp_path),
            "--cloud-port",
            str(port),
            "--page-port",
            str(page_port),
            "--modbus-port",
            str(free_port()),
            "--mqtt-port",
            str(free_port()),
            "--coap-port",
            str(free_port()),
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert demo.stdout is not None
    lines = []
    for line in demo.stdout:
        lines.append(line)
        if "running; press Ctrl-C" in line:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
                health = json.load(response)
            assert health["status"] == "ok"
            assert health["database"].startswith("PostgreSQL")
            with urllib.request.urlopen(f"http://127.0.0.1:{page_port}/api/status", timeout=5) as response:
                gateway = json.load(response)
            assert gateway["gateway_id"].isdigit(), "enrolled: the gateway carries the cloud's id"
            assert_demo_login_works(port)
            # Every meter of the seed: Modbus electricity, LoRaWAN water, NB-IoT hot water, the bulk meters.
            protocols = {meter["protocol"] for meter in gateway["meters"]}
            assert len(gateway["meters"]) == len(demo_meters()) and protocols == {
                "modbus",
                "lorawan",
                "nbiot",
            }
    assert demo.wait(timeout=60) == 0, "".join(lines)
    assert any("/schema" in line for line in lines), "the demo prints where the API documents are"
    assert "stopped every process it started" in lines[-1]
    assert postgres_processes_in(tmp_path) == [], "the embedded PostgreSQL outlived the demo"
    worker_log = (tmp_path / "logs" / "worker.log").read_text()
    assert "in-process StubBroker" in worker_log, "the worker says which broker it uses"
    assert "ledger verification through seq" in worker_log, "the worker ran its first job"
    assert "radio: stopped" in (tmp_path / "logs" / "radio.log").read_text(), (
        "the radio meters stopped cleanly"
    )

"""Starting the demo's site: the simulated meters, the MQTT broker, and the gateway enrolled with
the cloud the way an admin and an installer do it, then given its radio meters' site settings.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

from cloud.seed import HOT_WATER_IMEI, demo_meters
from demo.estate import (
    local_gateway_config,
    make_oscore_keys,
    radio_arguments,
    radio_gateway_config,
    simulator_arguments,
)
from demo.processes import Supervisor, http_ok, port_open
from edge_agent.config.test_clock import TEST_CLOCK_EPOCH_ENV, TEST_CLOCK_RATE_ENV

#: The radio meters send about once a simulated hour, within these real-time bounds.
UPLINK_EVERY_S = (2.0, 30.0)


def clock_arguments(rate: float | None, epoch_s: float) -> tuple[list[str], dict[str, str]]:
    """The simulator's clock options and the agent's test-clock variables: one timeline for both."""
    if rate is None:
        return ["--speedup", "1"], {}
    return (
        ["--speedup", str(rate), "--epoch", repr(epoch_s)],
        {TEST_CLOCK_RATE_ENV: str(rate), TEST_CLOCK_EPOCH_ENV: repr(epoch_s)},
    )


def start_gateway(supervisor: Supervisor, args: argparse.Namespace, cloud_url: str, epoch_s: float) -> str:
    """Simulated meters, then the gateway enrolled with the cloud and running; returns the page URL."""
    demo_dir, modbus_port, page_port = args.dir, args.modbus_port, args.page_port
    meter_clock, agent_clock = clock_arguments(args.fast, epoch_s)
    supervisor.start(
        "meters",
        [sys.executable, "-m", "demo.simulator", "--tcp", f"127.0.0.1:{modbus_port}", *meter_clock,
         "--shape", "residential", "--tz", "Africa/Johannesburg", *simulator_arguments()],
    )  # fmt: skip
    supervisor.wait_until("meters", port_open(modbus_port), timeout_s=30)
    config = demo_dir / "gateway" / "edge.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        local_gateway_config(demo_dir.resolve() / "gateway" / "gateway.sqlite3", modbus_port, page_port)
    )
    gateway_id, hot_water_meter_id = demo_site(cloud_url)
    enrol_gateway(demo_dir, cloud_url, gateway_id, config)
    every_s = uplink_every_s(args.fast)
    add_radio_site(args, config, str(hot_water_meter_id), round(every_s * (args.fast or 1)))
    supervisor.start(
        "gateway",
        [sys.executable, "-m", "edge_agent.entrypoints.cli", "run", "--config", str(config)],
        env=agent_clock,
    )
    page = f"http://127.0.0.1:{page_port}"
    supervisor.wait_until("gateway", http_ok(f"{page}/healthz"), timeout_s=60)
    supervisor.wait_until("gateway", has_balances(page), timeout_s=90)
    supervisor.start(
        "radio",
        [sys.executable, "-m", "demo.radio", "--every", str(every_s), *meter_clock,
         *radio_arguments(args.mqtt_port, args.coap_port, demo_dir.resolve() / "radio" / "keys")],
    )  # fmt: skip
    return page


def has_balances(page: str) -> Callable[[], bool]:
    """A readiness probe: the gateway has every meter of the cloud's config and every wallet's balance.

    The radio meters start sending only then: a reading of a pocket the cloud has not reported yet
    is charged with no credit decision, and the page shows its balance as ``None`` until it comes.
    """
    meter_count = len(demo_meters())

    def probe() -> bool:
        try:
            meters = httpx.get(f"{page}/api/status", timeout=5).json()["meters"]
        except (httpx.HTTPError, ValueError, KeyError):
            return False
        balances = [m["cached_balance_cents"] for m in meters if m["wallet_id"] is not None]
        return len(meters) == meter_count and all(balance is not None and balance > 0 for balance in balances)

    return probe


def add_radio_site(
    args: argparse.Namespace, config: Path, hot_water_meter: str, uplink_interval_s: int
) -> None:
    """What the installer adds after enrolment: the radio sections, OSCORE keys, the pulse weight."""
    oscore = args.dir.resolve() / "gateway" / "oscore"
    make_oscore_keys(oscore / HOT_WATER_IMEI, args.dir.resolve() / "radio" / "keys")
    oscore.chmod(0o700)
    with config.open("a") as edge_toml:
        edge_toml.write(
            radio_gateway_config(args.mqtt_port, args.coap_port, oscore, (hot_water_meter, uplink_interval_s))
        )


def uplink_every_s(rate: float | None) -> float:
    """Real seconds between radio frames: a simulated hour, kept between a few seconds and half a minute."""
    low, high = UPLINK_EVERY_S
    return min(high, max(low, 3600 / (rate or 1)))


def start_broker(supervisor: Supervisor, demo_dir: Path, port: int) -> None:
    """The MQTT broker ChirpStack would publish to: Mosquitto if installed, else an embedded one."""
    mosquitto = shutil.which("mosquitto") or next(
        (path for path in ("/usr/sbin/mosquitto",) if Path(path).exists()), None
    )
    if mosquitto is None:
        command = [sys.executable, "-m", "demo.mqtt_broker", str(port)]
    else:
        conf = demo_dir.resolve() / "radio" / "mosquitto.conf"
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        command = [mosquitto, "-c", str(conf)]
    supervisor.start("mqtt", command)
    supervisor.wait_until("mqtt", port_open(port), timeout_s=30)
    print(
        f"demo: MQTT broker    127.0.0.1:{port} ({'Mosquitto' if mosquitto else 'embedded amqtt'})",
        flush=True,
    )


def enrol_gateway(demo_dir: Path, cloud_url: str, gateway_id: int, config: Path) -> None:
    """What an admin and an installer do: a one-time code from the cloud, then ``gateway enrol``."""
    issued = subprocess.run(
        [sys.executable, "-m", "cloud.entrypoints.cli", "gateway", "enrolment-code",
         "--gateway", str(gateway_id), "--json"],
        env={**os.environ, "QUANTIFY_DATA_DIR": str(demo_dir / "cloud")}, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    code = json.loads(issued.stdout)["code"]
    subprocess.run(
        [sys.executable, "-m", "provisioning.cli", "gateway", "enrol", "--cloud", cloud_url, "--code", code,
         "--config", str(config)],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip


def demo_site(cloud_url: str) -> tuple[int, int]:
    """The seeded estate's gateway and NB-IoT meter, found through the API as its managing agent."""
    from cloud.seed import ADMIN_EMAIL, ADMIN_PASSWORD, HOT_WATER_SERIAL

    with httpx.Client(base_url=cloud_url, timeout=10) as api:
        api.post(
            "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        ).raise_for_status()
        [estate] = api.get("/api/v1/estates").json()
        [gateway] = api.get(f"/api/v1/estates/{estate['id']}/gateways").json()
        meters = api.get(f"/api/v1/estates/{estate['id']}/meters").json()
    [hot_water] = [meter["id"] for meter in meters if meter["serial"] == HOT_WATER_SERIAL]
    return int(gateway["id"]), int(hot_water)

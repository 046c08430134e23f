"""The bridge survives its broker going away: it reconnects with capped backoff and bills again.

This test needs a broker it may stop, so it starts its own Mosquitto on a free port (the machine's
stays untouched); it is skipped where no Mosquitto binary is installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import secrets
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import aiomqtt
import pytest

from edge_agent.adapters.lorawan import parse_lorawan
from edge_agent.adapters.lorawan.bridge import LoRaWANBridge
from edge_agent.radio import lorawan_devices
from firmware_profiles import packaged_registry
from tests.integration.lorawan.chirpstack import event_topic, up_event, ws52x_frame
from tests.integration.lorawan.gateway import START, Meter, eventually, start_gateway
from tests.support.services import IN_CI, LOCALHOST, free_port, wait_for_port

pytestmark = pytest.mark.anyio

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


@contextlib.contextmanager
def mosquitto(port: int) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [MOSQUITTO, "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(LOCALHOST, port, 10, "the test's Mosquitto")
        yield process
    finally:
        process.terminate()
        process.wait(10)


async def test_the_bridge_reconnects_after_the_broker_restarts_and_bills_again(tmp_path: Path) -> None:
    if not Path(MOSQUITTO).exists():
        message = f"no Mosquitto binary at {MOSQUITTO} to start and stop (apt-get install mosquitto)"
        if IN_CI:
            pytest.fail(message, pytrace=False)  # CI never skips for want of a service
        pytest.skip(message)
    port, application, dev_eui = free_port(), str(uuid.uuid4()), secrets.token_hex(8)
    gateway = start_gateway(tmp_path, [Meter("m1", "milesight-ws52x", device=dev_eui)])
    settings = parse_lorawan(
        {"host": LOCALHOST, "port": port, "client_id": f"gw-{uuid.uuid4().hex[:12]}", "clean_session": True,
         "application_ids": [application], "reconnect_max_s": 1},
        source="edge.toml", base=tmp_path, gateway_id="gw-radio",
    )  # fmt: skip
    settings = dataclasses.replace(settings, devices=lorawan_devices(gateway.config.meters))
    bridge = LoRaWANBridge(settings, {"m1": packaged_registry().get("milesight-ws52x")}, gateway.sink)
    task = asyncio.create_task(bridge.run())
    try:
        with mosquitto(port):
            await bridge.wait_connected(10)
        await eventually(lambda: not bridge.health.connected, "the bridge noticed the broker went away")
        await asyncio.sleep(1.5)  # a few failed attempts, each at most reconnect_max_s apart
        with mosquitto(port):
            await bridge.wait_connected(10)
            async with aiomqtt.Client(LOCALHOST, port) as network:
                body = up_event(
                    application, dev_eui, ws52x_frame(5_000), f_cnt=1, at=START + timedelta(minutes=1)
                )
                await network.publish(event_topic(application, dev_eui, "up"), body, qos=1)
                await eventually(lambda: len(gateway.readings("m1")) == 1, "the reading after reconnecting")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await gateway.close()
    assert bridge.health.connections == 2 and bridge.health.last_error is not None

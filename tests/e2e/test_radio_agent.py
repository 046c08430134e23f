"""``quantify-edge run`` with radio meters: the real process hears LoRaWAN and NB-IoT meters.

The agent runs as installed, from an ``edge.toml`` with ``[lorawan]`` and ``[nbiot]``. A ChirpStack
stand-in publishes v4 events on the machine's Mosquitto and watches for the relay downlink; an
aiocoap client POSTs an OSCORE-protected NB-IoT frame. With no credit (the cloud's last word), the WS52x's
first uplink opens its relay: a confirmed downlink, ChirpStack's ack, then the socket's own uplink
saying off, which is what is journalled as the relay's state.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import shutil
import sys
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from edge_agent.config import load_config_file
from edge_agent.daemon import GatewayAgent
from edge_agent.store.database import open_reader
from edge_agent.store.queries import iter_encoded_entries
from edge_agent.store.verify import verify_store
from shared.journal import Pocket, Reading, ReadingSource, RelayStateConfirmed, decode_entry
from tests.integration.lorawan.chirpstack import ack_event, event_topic, up_event, ws52x_frame
from tests.integration.nbiot.meter import Meter, counters_frame, make_keys, nbiot_frame
from tests.support.paths import REPO_ROOT
from tests.support.processes import running, wait_until
from tests.support.services import Broker, free_port, port_answers

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

FLAT = REPO_ROOT / "examples" / "tariffs" / "flat.toml"
WATER = REPO_ROOT / "examples" / "tariffs" / "water_blocks.toml"
IMEI = "356938035643809"


def edge_toml(tmp: Path, broker: Broker, application: str, dev_eui: str, ports: tuple[int, int]) -> str:
    web_port, coap_port = ports
    return f"""
[gateway]
id = "gw-e2e-radio"
store = "gw.sqlite3"
[web]
host = "127.0.0.1"
port = {web_port}
[lorawan]
host = "{broker.host}"
port = {broker.port}
client_id = "gw-e2e-{uuid.uuid4().hex[:8]}"
clean_session = true
application_ids = ["{application}"]
ack_timeout_s = 20
state_timeout_s = 20
[nbiot]
host = "127.0.0.1"
port = {coap_port}
oscore_dir = "keys"
[[meters]]
id = "socket-1"
unit = "Unit 1"
utility = "electricity"
profile = "milesight-ws52x"
dev_eui = "{dev_eui}"
wallet = "w1"
[[meters]]
id = "water-1"
unit = "Unit 1"
utility = "water"
profile = "adeunis-pulse-nbiot"
imei = "{IMEI}"
pulse_weight = "10"
[tariffs]
electricity = "{FLAT}"
water = "{WATER}"
"""


def journal(store: Path) -> list[Any]:
    return [decode_entry(data).body for data in iter_encoded_entries(open_reader(store))]


async def until(check: Any, timeout_s: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not check():
        assert asyncio.get_running_loop().time() < deadline, f"{what}: not within {timeout_s} s"
        await asyncio.sleep(0.1)


async def test_the_agent_process_bills_radio_meters_and_confirms_a_lorawan_relay(
    tmp_path: Path, mqtt_broker: Broker
) -> None:
    application, dev_eui = str(uuid.uuid4()), secrets.token_hex(8)
    web_port, coap_port = free_port(), free_port()
    keys = make_keys(tmp_path / "provisioning", "water-1", recipient_id=b"\x07")
    (tmp_path / "keys").mkdir()
    shutil.move(keys.gateway_dir, tmp_path / "keys" / IMEI)
    config = tmp_path / "edge.toml"
    config.write_text(edge_toml(tmp_path, mqtt_broker, application, dev_eui, (web_port, coap_port)))
    store = tmp_path / "gw.sqlite3"
    # What the cloud last reported for the wallet: nothing. Applied, as sync applies it, before the
    # process starts (no production command adds credit on a gateway).
    seeding = GatewayAgent(load_config_file(config))
    await seeding.billing.apply_cloud_balance("w1", Pocket.ELECTRICITY, 0, 0)
    await seeding.shutdown([])
    command = [sys.executable, "-m", "edge_agent.entrypoints.cli", "run", "--config", str(config)]
    with running(command, tmp_path / "agent.log") as agent:
        wait_until(lambda: port_answers("127.0.0.1", web_port, 0.2), 30, "the agent's page", agent)
        async with aiomqtt.Client(mqtt_broker.host, mqtt_broker.port) as chirpstack:
            await chirpstack.subscribe(f"application/{application}/device/{dev_eui}/command/down", qos=1)
            await asyncio.sleep(1.0)  # the agent subscribes once its page is up; give it a moment

            async def up(f_cnt: int, energy_wh: int, relay_on: bool, at: datetime) -> None:
                body = up_event(
                    application, dev_eui, ws52x_frame(energy_wh, relay_on=relay_on), f_cnt=f_cnt, at=at
                )
                await chirpstack.publish(event_topic(application, dev_eui, "up"), body, qos=1)

            start = datetime.now(UTC) - timedelta(hours=1)
            await up(1, 100_000, True, start)  # no credit: the relay must open
            async with asyncio.timeout(20):
                message = await anext(aiter(chirpstack.messages))
            down = json.loads(message.payload)  # type: ignore[arg-type]
            assert base64.b64decode(down["data"]) == bytes.fromhex("080000FF") and down["confirmed"] is True
            ack = ack_event(application, dev_eui, down["id"])
            await chirpstack.publish(event_topic(application, dev_eui, "ack"), ack, qos=1)
            await up(2, 100_000, False, start + timedelta(minutes=20))

        meter = await Meter.connect(coap_port, "uplink", keys)
        try:
            answer = await meter.post(nbiot_frame(IMEI, 1, counters_frame(500)))
            assert answer.code.is_successful()
        finally:
            await meter.close()

        def confirmed() -> list[bool]:
            return [b.closed for b in journal(store) if isinstance(b, RelayStateConfirmed)]

        # The first uplink's "on" came with the command that answered it, so only "off" is journalled.
        await until(lambda: confirmed() == [False], 20, "the socket's own word on its relay")
        with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/api/status", timeout=10) as response:
            status = json.loads(response.read())
        with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/", timeout=10) as response:
            page = response.read().decode()
    meters = {m["id"]: m for m in status["meters"]}
    assert (meters["socket-1"]["protocol"], meters["socket-1"]["relay"]) == ("lorawan", "open")
    assert meters["water-1"]["protocol"] == "nbiot" and meters["water-1"]["device_id"] == IMEI
    sources = {b.meter_id: b.source for b in journal(store) if isinstance(b, Reading)}
    assert sources == {"socket-1": ReadingSource.LORAWAN, "water-1": ReadingSource.NBIOT}
    assert f"LoRaWAN {dev_eui}" in page and f"NB-IoT {IMEI}" in page and "Last uplink" in page
    assert verify_store(store).ok

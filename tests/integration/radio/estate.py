"""A gateway with one meter of each protocol, run in-process against real peers.

The agent (``GatewayAgent``, as ``quantify-edge run`` builds it) reads a simulated Eastron SDM120
over Modbus TCP (pymodbus), hears a Milesight WS52x socket and an EM300-DI pulse counter through
ChirpStack-format events on the machine's Mosquitto, and serves an Adeunis Pulse NB-IoT meter that
POSTs OSCORE-protected frames with aiocoap. Its clock runs :data:`RATE` times real time (as
``QUANTIFY_EDGE_TEST_CLOCK_RATE`` does), and so does the Modbus simulator's, so consumption over a
few real seconds is plausible to the billing service's rate checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiomqtt

from demo.simulator import MeterSimulator, SimClock, SimulatedMeter
from edge_agent.config import load_config
from edge_agent.config.test_clock import accelerated_clock
from edge_agent.daemon import GatewayAgent
from edge_agent.store.database import open_reader
from edge_agent.store.queries import iter_encoded_entries
from firmware_profiles import packaged_registry
from shared.journal import decode_entry
from tests.integration.lorawan.chirpstack import event_topic, up_event
from tests.integration.nbiot.meter import Meter as NbiotMeter
from tests.integration.nbiot.meter import make_keys
from tests.support.services import Broker, free_port

#: Agent time per real second: a real second is ten minutes.
RATE = 600.0
IMEI = "356938035643809"  # a 15-digit IMEI: its frames carry it as 16 BCD digits, with a leading 0
#: Electricity at R2.85/kWh and water at R32.50/kL, VAT included, no standing charges, so every
#: charge is the consumption times the rate.
ELECTRICITY_TARIFF = """
[tariff]
name = "Test electricity"
utility = "electricity"
unit = "kWh"
currency = "ZAR"
timezone = "Africa/Johannesburg"
effective_from = 2020-01-01
rate = "2.8500"
"""
WATER_TARIFF = """
[tariff]
name = "Test water"
utility = "water"
unit = "kL"
currency = "ZAR"
timezone = "Africa/Johannesburg"
effective_from = 2020-01-01
rate = "32.5000"
"""


@dataclass
class Estate:
    """The running agent and the peers that play its meters."""

    agent: GatewayAgent
    mqtt: aiomqtt.Client
    application_id: str
    socket_eui: str
    pulse_eui: str
    nbiot: NbiotMeter
    downlinks: asyncio.Queue[tuple[str, dict[str, Any]]]

    def now(self) -> datetime:
        return self.agent.clock()

    async def up(self, dev_eui: str, payload: bytes, *, f_cnt: int, dedup: str | None = None) -> bytes:
        """Publish an ``up`` event as ChirpStack would; return its bytes (to publish again)."""
        body = up_event(
            self.application_id, dev_eui, payload, f_cnt=f_cnt, at=self.now(), deduplication_id=dedup
        )
        await self.publish(dev_eui, "up", body)
        return body

    async def publish(self, dev_eui: str, kind: str, body: bytes) -> None:
        await self.mqtt.publish(event_topic(self.application_id, dev_eui, kind), body, qos=1)

    def bodies(self) -> list[Any]:
        return [
            decode_entry(data).body
            for data in iter_encoded_entries(open_reader(self.agent.config.store_path))
        ]


def config_text(
    tmp: Path, broker: Broker, modbus_port: int, coap_port: int, ids: dict[str, str], silence: tuple[int, int]
) -> str:
    """``edge.toml`` of the estate; ``silence``: radio meters' uplink interval and how many may pass."""
    interval_s, lost_after = silence
    (tmp / "electricity.toml").write_text(ELECTRICITY_TARIFF)
    (tmp / "water.toml").write_text(WATER_TARIFF)
    return f"""
[gateway]
id = "gw-radio-estate"
store = "gw.sqlite3"

[web]
host = "127.0.0.1"
port = 0

[[buses]]
id = "bus-1"
kind = "tcp"
host = "127.0.0.1"
port = {modbus_port}
timeout_ms = 500

[lorawan]
host = "{broker.host}"
port = {broker.port}
client_id = "gw-{uuid.uuid4().hex[:12]}"
clean_session = true
application_ids = ["{ids["application"]}"]
ack_timeout_s = 10
state_timeout_s = 10
lost_after_intervals = {lost_after}

[nbiot]
host = "127.0.0.1"
port = {coap_port}
oscore_dir = "keys"
command_timeout_s = 10
state_timeout_s = 10
lost_after_intervals = {lost_after}

[[meters]]
id = "flat-1"
unit = "Flat 1"
utility = "electricity"
profile = "eastron-sdm120"
bus = "bus-1"
address = 1
poll_interval_s = 1
wallet = "w-flat-1"

[[meters]]
id = "socket-2"
unit = "Flat 2"
utility = "electricity"
profile = "milesight-ws52x"
dev_eui = "{ids["socket"].upper()}"
uplink_interval_s = {interval_s}
wallet = "w-flat-2"

[[meters]]
id = "water-2"
unit = "Flat 2"
utility = "water"
profile = "milesight-em300-di"
dev_eui = "{ids["pulse"]}"
pulse_weight = "10"
uplink_interval_s = {interval_s}
wallet = "w-flat-2"

[[meters]]
id = "water-3"
unit = "Flat 3"
utility = "water"
profile = "adeunis-pulse-nbiot"
imei = "{IMEI}"
pulse_weight = "10"
uplink_interval_s = {interval_s}
wallet = "w-flat-3"

[tariffs]
electricity = "electricity.toml"
water = "water.toml"

[credit.electricity]
reconnect_threshold_cents = 2000
low_credit_warning_cents = false
"""


@contextlib.asynccontextmanager
async def running_estate(
    tmp: Path, broker: Broker, *, silence: tuple[int, int] = (86_400, 3)
) -> AsyncIterator[Estate]:
    """The agent running with its three protocols' peers; everything stopped afterwards."""
    registry = packaged_registry()
    epoch = datetime.now(UTC)
    sim_clock = SimClock.sharing_epoch(epoch.timestamp(), RATE)
    simulator = MeterSimulator(
        [SimulatedMeter(1, registry.get("eastron-sdm120"), load_w=Decimal(950), at=sim_clock.now())],
        sim_clock,
    )
    modbus_port = await simulator.start_tcp()
    ids = {"application": str(uuid.uuid4()), "socket": secrets.token_hex(8), "pulse": secrets.token_hex(8)}
    coap_port = free_port()
    keys = make_keys(tmp / "provisioning", "water-3", recipient_id=b"\x03")
    (tmp / "keys").mkdir()
    shutil.move(keys.gateway_dir, tmp / "keys" / IMEI)  # the installer copies the gateway's half
    text = config_text(tmp, broker, modbus_port, coap_port, ids, silence)
    config = load_config(text, source=tmp / "edge.toml", registry=registry)
    agent = GatewayAgent(config, registry=registry, clock=accelerated_clock(RATE, epoch))
    stop = asyncio.Event()
    run = asyncio.create_task(agent.run(stop))
    downlinks: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
    try:
        async with aiomqtt.Client(
            broker.host, broker.port, identifier=f"chirpstack-{uuid.uuid4().hex[:8]}"
        ) as mqtt:
            await mqtt.subscribe(f"application/{ids['application']}/device/+/command/down", qos=1)
            watcher = asyncio.create_task(_collect(mqtt, downlinks))
            lorawan = await _bridge_up(agent)
            await lorawan.wait_connected(10)
            nbiot = await NbiotMeter.connect(coap_port, "uplink", keys)  # the meter's half
            try:
                yield Estate(agent, mqtt, ids["application"], ids["socket"], ids["pulse"], nbiot, downlinks)
            finally:
                watcher.cancel()
                await nbiot.close()
    finally:
        stop.set()
        await run
        await simulator.stop()


async def _bridge_up(agent: GatewayAgent) -> Any:
    await eventually(lambda: agent.radio.lorawan is not None, "the agent started its LoRaWAN bridge")
    return agent.radio.lorawan


async def _collect(mqtt: aiomqtt.Client, into: asyncio.Queue[tuple[str, dict[str, Any]]]) -> None:
    async for message in mqtt.messages:
        assert isinstance(message.payload, bytes)
        await into.put((message.topic.value, json.loads(message.payload)))


async def eventually(check: Callable[[], bool], what: str, timeout_s: float = 15.0) -> None:
    """Wait (bounded) until ``check()`` holds; fail naming ``what`` if it never does."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not check():
        assert loop.time() < deadline, f"timed out after {timeout_s} s waiting for: {what}"
        await asyncio.sleep(0.05)

"""The LoRaWAN bridge against the machine's Mosquitto, with ChirpStack-format events.

A test publisher plays ChirpStack: it publishes ``up``/``ack``/``join`` events byte-for-byte in the
integration's JSON (``../shared/refdata/chirpstack/``) and watches ``command/down`` for the relay
downlink. Every test uses its own application id and DevEUI, so parallel runs on the shared broker
never see each other's events.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import json
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from edge_agent.adapters.lorawan import parse_lorawan
from edge_agent.adapters.lorawan.bridge import LoRaWANBridge
from edge_agent.radio import lorawan_devices
from edge_agent.store.verify import verify_store
from firmware_profiles import packaged_registry
from shared.credit import RelayState
from shared.journal import Alarm, Charge, Pocket, ReadingSource, RelayCommand, RelayStateConfirmed
from shared.quantities import Measurement
from tests.integration.lorawan.chirpstack import ack_event, event_topic, join_event, up_event, ws52x_frame
from tests.integration.lorawan.gateway import START, Meter, RadioGateway, eventually, start_gateway
from tests.support.services import Broker

pytestmark = pytest.mark.anyio


@dataclass
class Network:
    """The test's ChirpStack stand-in: one application, one device, a publisher on the broker."""

    client: aiomqtt.Client
    application_id: str
    dev_eui: str

    async def up(
        self, payload: bytes, *, f_cnt: int, minutes: float, dedup: str | None = None, f_port: int = 85
    ) -> str:
        dedup = dedup or str(uuid.uuid4())
        body = up_event(self.application_id, self.dev_eui, payload, f_cnt=f_cnt, f_port=f_port,
                        at=START + timedelta(minutes=minutes), deduplication_id=dedup)  # fmt: skip
        await self.client.publish(event_topic(self.application_id, self.dev_eui, "up"), body, qos=1)
        return dedup

    async def publish(self, kind: str, body: bytes) -> None:
        await self.client.publish(event_topic(self.application_id, self.dev_eui, kind), body, qos=1)


@contextlib.asynccontextmanager
async def running(
    tmp_path: Path, broker: Broker, profile: str = "milesight-ws52x"
) -> AsyncIterator[tuple[RadioGateway, LoRaWANBridge, Network]]:
    """A gateway with one LoRaWAN meter ``m1``, its bridge connected, and the test's publisher."""
    application_id, dev_eui = str(uuid.uuid4()), secrets.token_hex(8)
    # The DevEUI in capitals, as installers copy it from labels: the config reads it in any case.
    gateway = start_gateway(tmp_path, [Meter("m1", profile, device=dev_eui.upper())])
    settings = parse_lorawan(
        {"host": broker.host, "port": broker.port, "client_id": f"gw-{uuid.uuid4().hex[:12]}",
         "clean_session": True, "application_ids": [application_id], "ack_timeout_s": 10,
         "state_timeout_s": 10},
        source="edge.toml", base=tmp_path, gateway_id="gw-radio",
    )  # fmt: skip
    settings = dataclasses.replace(settings, devices=lorawan_devices(gateway.config.meters))
    bridge = LoRaWANBridge(
        settings, {"m1": packaged_registry().get(profile)}, gateway.sink, clock=gateway.clock
    )
    gateway.actuators["m1"] = bridge.relay
    task = asyncio.create_task(bridge.run())
    try:
        await bridge.wait_connected(10)
        async with aiomqtt.Client(
            broker.host, broker.port, identifier=f"cs-{uuid.uuid4().hex[:12]}"
        ) as client:
            yield gateway, bridge, Network(client, application_id, dev_eui)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await gateway.close()


async def next_downlink(client: aiomqtt.Client, timeout_s: float = 10) -> tuple[str, dict[str, Any]]:
    async with asyncio.timeout(timeout_s):
        async for message in client.messages:
            assert isinstance(message.payload, bytes)
            return message.topic.value, json.loads(message.payload)
    raise AssertionError("no downlink")


async def test_energy_is_charged_credit_runs_out_and_the_relay_opens_only_when_an_uplink_says_so(
    tmp_path: Path, mqtt_broker: Broker
) -> None:
    async with running(tmp_path, mqtt_broker) as (gateway, bridge, network):
        await gateway.billing.apply_cloud_balance("w1", Pocket.ELECTRICITY, 500, 0)
        down_topic = f"application/{network.application_id}/device/{network.dev_eui}/command/down"
        await network.client.subscribe(down_topic, qos=1)

        await network.up(ws52x_frame(100_000), f_cnt=0, minutes=0)  # fCnt 0: omitted, as older servers do
        await eventually(
            lambda: gateway.relays.confirmed("m1") is RelayState.CLOSED, "the socket reported on"
        )
        await network.up(ws52x_frame(101_000), f_cnt=1, minutes=30)  # 1 kWh: R2.85 + standing
        await eventually(lambda: len(gateway.readings("m1")) == 2, "the second reading")
        charged = [b for b in gateway.bodies() if isinstance(b, Charge)]
        assert sum(c.quantity for c in charged if c.band == "flat") == 1000
        assert gateway.billing.balance_of(gateway.config.meters[0]) == 500 - sum(
            c.amount_cents for c in charged
        )

        await network.up(ws52x_frame(102_000), f_cnt=2, minutes=60)  # the balance crosses zero
        topic, command = await next_downlink(network.client)
        assert topic == down_topic
        assert command["devEui"] == network.dev_eui and command["confirmed"] is True
        assert command["fPort"] == 85 and base64.b64decode(command["data"]) == bytes.fromhex("080000FF")
        assert gateway.relays.confirmed("m1") is RelayState.CLOSED, "a downlink is not a switched relay"

        await network.publish("ack", ack_event(network.application_id, network.dev_eui, command["id"]))
        await asyncio.sleep(0.2)
        assert gateway.relays.confirmed("m1") is RelayState.CLOSED, "an ack is not a switched relay either"
        await network.up(ws52x_frame(102_000, relay_on=False), f_cnt=3, minutes=61)
        await eventually(
            lambda: gateway.relays.confirmed("m1") is RelayState.OPEN, "the relay confirmed open"
        )

    bodies = gateway.bodies()
    commands = [b for b in bodies if isinstance(b, RelayCommand)]
    states = [b for b in bodies if isinstance(b, RelayStateConfirmed)]
    assert [c.action for c in commands] == ["open"]
    assert [(s.closed, s.command_id) for s in states] == [(True, None), (False, commands[0].command_id)]
    readings = gateway.readings("m1")
    assert [r.source for r in readings] == [ReadingSource.LORAWAN] * 4
    assert readings[0].measurements[Measurement.VOLTAGE_V] == Decimal("230.1")
    assert readings[0].read_at == START
    assert bridge.health.downlinks == 1
    assert verify_store(gateway.store).ok


async def test_a_repeated_deduplication_id_or_frame_counter_is_never_billed_twice(
    tmp_path: Path, mqtt_broker: Broker
) -> None:
    async with running(tmp_path, mqtt_broker) as (gateway, bridge, network):
        await gateway.billing.apply_cloud_balance("w1", Pocket.ELECTRICITY, 100_000, 0)
        await network.up(ws52x_frame(10_000), f_cnt=7, minutes=0)
        dedup = await network.up(ws52x_frame(12_000), f_cnt=8, minutes=60)
        await network.up(ws52x_frame(12_000), f_cnt=8, minutes=60, dedup=dedup)  # republished event
        await network.up(ws52x_frame(14_000), f_cnt=8, minutes=70)  # the same frame counter again
        await network.up(ws52x_frame(13_000), f_cnt=9, minutes=120)
        await eventually(lambda: len(gateway.readings("m1")) == 3, "three distinct uplinks")
        await asyncio.sleep(0.2)

        # After a rejoin the counters restart: fCnt 8 is a new frame again.
        await network.publish("join", join_event(network.application_id, network.dev_eui))
        await network.up(ws52x_frame(15_000), f_cnt=8, minutes=180)
        await eventually(lambda: len(gateway.readings("m1")) == 4, "the first uplink after the rejoin")

    charged = [b for b in gateway.bodies() if isinstance(b, Charge) and b.band == "flat"]
    assert sum(c.quantity for c in charged) == 15_000 - 10_000, "every Wh billed once"
    assert bridge.health.duplicates == 2


async def test_a_frame_that_does_not_decode_is_a_journalled_alarm_not_a_reading(
    tmp_path: Path, mqtt_broker: Broker
) -> None:
    async with running(tmp_path, mqtt_broker) as (gateway, bridge, network):
        await network.up(bytes.fromhex("0567aabb"), f_cnt=1, minutes=0)  # not in the WS52x table
        await network.up(ws52x_frame(1_000), f_cnt=2, minutes=1, f_port=10)  # a port it sends nothing on
        await network.client.publish(
            event_topic(network.application_id, network.dev_eui, "up"), b"{not json", qos=1
        )
        await network.up(ws52x_frame(1_000), f_cnt=3, minutes=2)
        await eventually(lambda: len(gateway.readings("m1")) == 1, "the good frame's reading")

    alarms = [b for b in gateway.bodies() if isinstance(b, Alarm) and b.meter_id == "m1"]
    assert [a.kind for a in alarms] == ["decode_error"] * 3
    assert (
        "byte 0: channel 0x05" in alarms[0].detail
        and "fPort 10" in alarms[1].detail
        and "not JSON" in alarms[2].detail
    )
    assert bridge.health.decode_errors == 3


async def test_a_downlink_the_device_did_not_acknowledge_is_sent_again(
    tmp_path: Path, mqtt_broker: Broker
) -> None:
    async with running(tmp_path, mqtt_broker) as (gateway, bridge, network):
        await network.client.subscribe(
            f"application/{network.application_id}/device/{network.dev_eui}/command/down", qos=1
        )
        await gateway.billing.apply_cloud_balance("w1", Pocket.ELECTRICITY, 0, 0)  # the cloud says: nothing
        await network.up(ws52x_frame(100_000), f_cnt=1, minutes=0)  # no credit at all: disconnect
        _, first = await next_downlink(network.client)
        await network.publish(
            "ack", ack_event(network.application_id, network.dev_eui, first["id"], acknowledged=False)
        )
        _, second = await next_downlink(network.client)
        assert second["id"] != first["id"] and second["data"] == first["data"]
        await network.publish("ack", ack_event(network.application_id, network.dev_eui, second["id"]))
        await network.up(ws52x_frame(100_000, relay_on=False), f_cnt=2, minutes=1)
        await eventually(
            lambda: gateway.relays.confirmed("m1") is RelayState.OPEN, "the relay confirmed open"
        )
    assert bridge.health.downlinks == 2

"""The NB-IoT bridge: an aiocoap client plays the meter, POSTing OSCORE-protected frames.

Water meters (Adeunis Pulse NB-IoT) are billed through the real billing service; an unauthenticated
or unknown device is refused; history fills a gap without billing anything twice.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import aiocoap
import pytest
from aiocoap.oscore import NotAProtectedMessage

from edge_agent.adapters.nbiot import parse_nbiot
from edge_agent.adapters.nbiot.server import NbiotBridge
from edge_agent.radio import nbiot_devices
from edge_agent.store.verify import verify_store
from firmware_profiles import (
    Billing,
    PayloadRelay,
    ProfileRegistry,
    load_packaged_profiles,
    packaged_registry,
)
from firmware_profiles.codecs.base import Bytes, Frame
from shared.credit import RelayState
from shared.journal import Alarm, Charge, Pocket, ReadingSource, RelayCommand, RelayStateConfirmed
from shared.quantities import Measurement, Utility
from tests.integration.lorawan.gateway import START, RadioGateway, eventually, start_gateway
from tests.integration.lorawan.gateway import Meter as MeterEntry
from tests.integration.nbiot.meter import Keys, Meter, counters_frame, history_frame, make_keys, nbiot_frame
from tests.support.services import free_port

pytestmark = pytest.mark.anyio

IMEI = "1122334455667788"  # the IMEI of Adeunis' published NB-IoT example


@contextlib.asynccontextmanager
async def serving(
    tmp_path: Path,
    profile: str = "adeunis-pulse-nbiot",
    registry: ProfileRegistry | None = None,
    utility: str = "water",
    history_period_s: int | None = 600,
) -> AsyncIterator[tuple[RadioGateway, NbiotBridge, Keys, int]]:
    """A gateway with one NB-IoT meter ``m1`` (10 L per pulse) and its CoAP server listening."""
    entry = MeterEntry("m1", profile, utility=utility, device=IMEI, history_period_s=history_period_s)
    gateway = start_gateway(tmp_path, [entry], registry=registry)
    keys = make_keys(tmp_path / "oscore", "m1", recipient_id=b"\x01")
    port = free_port()
    settings = parse_nbiot(
        {"host": "127.0.0.1", "port": port, "command_timeout_s": 10, "state_timeout_s": 10},
        source="edge.toml", base=tmp_path,
    )  # fmt: skip
    devices = tuple(
        dataclasses.replace(d, oscore_dir=keys.gateway_dir) for d in nbiot_devices(gateway.config)
    )
    settings = dataclasses.replace(settings, devices=devices)
    profiles = {"m1": (registry or packaged_registry()).get(profile)}
    bridge = NbiotBridge(settings, profiles, gateway.sink, clock=gateway.clock)
    gateway.actuators["m1"] = bridge.relay
    await bridge.start()
    try:
        yield gateway, bridge, keys, port
    finally:
        await bridge.close()
        await gateway.close()


async def test_a_meter_frame_is_billed_and_a_repeat_is_not(tmp_path: Path) -> None:
    async with serving(tmp_path) as (gateway, bridge, keys, port):
        await gateway.billing.apply_cloud_balance("w1", Pocket.WATER, 100_000, 0)
        meter = await Meter.connect(port, "uplink", keys)
        try:
            answer = await meter.post(nbiot_frame(IMEI, 1, counters_frame(1_000)))
            assert answer.code == aiocoap.CHANGED and answer.payload == b""
            gateway.clock.now = START + timedelta(hours=1)
            frame = nbiot_frame(IMEI, 2, counters_frame(1_025))
            assert (await meter.post(frame)).code == aiocoap.CHANGED
            assert (await meter.post(frame)).code == aiocoap.CHANGED, "a resent frame is answered again"
        finally:
            await meter.close()

    readings = gateway.readings("m1")
    assert [r.source for r in readings] == [ReadingSource.NBIOT] * 2
    assert [r.billing_register for r in readings] == [10_000, 10_250]
    assert readings[1].measurements[Measurement.PULSE_COUNT] == 1_025
    volume = [
        b for b in gateway.bodies() if isinstance(b, Charge) and b.quantity and b.band != "fixed:service"
    ]
    assert sum(c.quantity for c in volume) == 250, "25 pulses x 10 L, billed once"
    assert bridge.health.duplicates == 1
    assert verify_store(gateway.store).ok


async def test_history_fills_the_gap_in_time_order_without_billing_anything_twice(tmp_path: Path) -> None:
    async with serving(tmp_path) as (gateway, _, keys, port):
        await gateway.billing.apply_cloud_balance("w1", Pocket.WATER, 100_000, 0)
        meter = await Meter.connect(port, "uplink", keys)
        try:
            await meter.post(nbiot_frame(IMEI, 1, counters_frame(1_000)))  # the baseline, at START
            # An hour later: the counter logged every 10 minutes, newest at 59 minutes, the
            # oldest points from before the baseline.
            at = START + timedelta(minutes=59)
            counts = [1_060, 1_050, 1_040, 1_030, 1_020, 1_010, 1_000, 995]
            gateway.clock.now = START + timedelta(hours=1)
            answer = await meter.post(nbiot_frame(IMEI, 2, history_frame(counts, at)))
            assert answer.code == aiocoap.CHANGED
        finally:
            await meter.close()

    readings = gateway.readings("m1")
    times = [r.read_at for r in readings]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert times[0] == START and times[-1] == START + timedelta(hours=1)
    gap = readings[1:-1]
    assert [r.read_at for r in gap] == [at - timedelta(minutes=10 * k) for k in (5, 4, 3, 2, 1)]
    assert [r.billing_register for r in gap] == [10_100, 10_200, 10_300, 10_400, 10_500]
    volume = [b for b in gateway.bodies() if isinstance(b, Charge) and b.band != "fixed:service"]
    assert sum(c.quantity for c in volume) == 600, "60 pulses x 10 L: each litre billed once"
    assert verify_store(gateway.store).ok


async def test_unauthenticated_unknown_and_impostor_devices_are_refused(tmp_path: Path) -> None:
    async with serving(tmp_path) as (gateway, _, keys, port):
        stranger_keys = make_keys(tmp_path / "strangers", "x", recipient_id=b"\x07")
        plain = await Meter.connect(port, "uplink", None)
        stranger = await Meter.connect(port, "uplink", stranger_keys)
        meter = await Meter.connect(port, "uplink", keys)
        try:
            frame = nbiot_frame(IMEI, 1, counters_frame(1_000))
            assert (await plain.post(frame)).code == aiocoap.UNAUTHORIZED
            with pytest.raises(NotAProtectedMessage) as refused:  # the refusal cannot be protected
                await stranger.post(frame)
            assert refused.value.plain_message.code == aiocoap.UNAUTHORIZED
            impostor = nbiot_frame("8877665544332211", 2, counters_frame(5))
            assert (await meter.post(impostor)).code == aiocoap.FORBIDDEN
            assert (await meter.post(nbiot_frame(IMEI, 3, b"\x46"))).code == aiocoap.BAD_REQUEST
        finally:
            for client in (plain, stranger, meter):
                await client.close()

    assert gateway.readings("m1") == []
    alarms = [b for b in gateway.bodies() if isinstance(b, Alarm)]
    assert [a.kind for a in alarms] == ["tamper", "decode_error"]
    assert "8877665544332211" in alarms[0].detail


def relay_meter_registry() -> ProfileRegistry:
    """The packaged profiles plus a stand-in NB-IoT electricity meter with a relay.

    No packaged NB-IoT model has a relay yet, so this one reads Adeunis' NB-IoT frame followed by
    one relay-state byte (1 = closed), is switched by a one-byte command (1 close, 0 open), and
    counts Wh pulses. It exercises the bridge's relay path end to end, as a real model would.
    """
    base = packaged_registry().get("adeunis-pulse-nbiot")
    codec = base.codec

    def decode(payload: Bytes) -> Frame:
        inner = codec.decode(Bytes(payload.data[:-1], payload.context))
        state = payload.uint(len(payload) - 1, 1, "relay state")
        return dataclasses.replace(inner, relay_states={"relay": state == 1})

    relay_codec = dataclasses.replace(
        codec, decode=decode, pulses_become=Measurement.ENERGY_IMPORT_WH,
        measurements=(Measurement.PULSE_COUNT, Measurement.ENERGY_IMPORT_WH),
        relay=PayloadRelay(output="relay", f_port=None, closed_payload=b"\x01", open_payload=b"\x00"),
    )  # fmt: skip
    profile = dataclasses.replace(
        base, model_id="test-nbiot-relay-meter", utility=Utility.ELECTRICITY,
        billing=Billing(Measurement.ENERGY_IMPORT_WH, Decimal(1), None), payload=relay_codec,
    )  # fmt: skip
    return ProfileRegistry([*load_packaged_profiles(), profile])


async def test_credit_runs_out_the_command_rides_on_the_answer_and_a_later_frame_confirms_it(
    tmp_path: Path,
) -> None:
    registry = relay_meter_registry()
    async with serving(
        tmp_path, "test-nbiot-relay-meter", registry, utility="electricity", history_period_s=None
    ) as (gateway, _, keys, port):
        await gateway.billing.apply_cloud_balance("w1", Pocket.ELECTRICITY, 500, 0)
        meter = await Meter.connect(port, "uplink", keys)
        try:

            async def report(counter: int, pulses: int, minutes: int, relay: int) -> aiocoap.Message:
                gateway.clock.now = START + timedelta(minutes=minutes)
                return await meter.post(nbiot_frame(IMEI, counter, counters_frame(pulses)) + bytes([relay]))

            assert (await report(1, 10_000, 0, relay=1)).payload == b""  # 100 kWh at 10 Wh a pulse
            assert gateway.relays.confirmed("m1") is RelayState.CLOSED
            assert (await report(2, 10_100, 30, relay=1)).payload == b""  # 1 kWh: R2.85 + standing
            answer = await report(3, 10_200, 60, relay=1)  # the balance crosses zero
            assert answer.code == aiocoap.CHANGED and answer.payload == b"\x00", "open, in this answer"
            assert gateway.relays.confirmed("m1") is RelayState.CLOSED, "sent is not switched"
            assert (await report(4, 10_200, 61, relay=0)).payload == b""
            await eventually(
                lambda: gateway.relays.confirmed("m1") is RelayState.OPEN, "the relay confirmed open"
            )
        finally:
            await meter.close()

    bodies = gateway.bodies()
    commands = [b for b in bodies if isinstance(b, RelayCommand)]
    states = [b for b in bodies if isinstance(b, RelayStateConfirmed)]
    assert [c.action for c in commands] == ["open"]
    assert [(s.closed, s.command_id) for s in states] == [(True, None), (False, commands[0].command_id)]
    assert sum(b.quantity for b in bodies if isinstance(b, Charge) and b.band == "flat") == 2000
    assert verify_store(gateway.store).ok

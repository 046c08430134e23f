"""An Axioma Qalcosonic W1's register is its whole-hour log, billed hour by hour, whenever it is heard.

A W1 "enhanced 24 h" frame carries the volume at the 24 whole hours ending at the hour of its meter
time; its newest volume is the register at that whole hour, not at the moment it was sent. The agent
runs as ``quantify-edge run`` builds it and hears ChirpStack v4 events on the machine's Mosquitto.

The frames drift towards the next hour, as ``make demo``'s do on a busy machine: sent at 12:58:19,
13:58:50 and 14:59:04, they log the register at 12:00, 13:00 and 14:00. Dated at their sending, the
14:00 volume would follow a 13:58:50 reading holding 13:00's: an hour's water in 70 s, refused as an
implausible reading, and the next reading's charge would cover litres of two readings' intervals.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import aiomqtt
import pytest

from demo.radio.frames import W1_F_PORT, qalcosonic_w1_frame
from demo.radio.water import whole_hour
from edge_agent.config import load_config
from edge_agent.daemon import GatewayAgent
from edge_agent.store.database import open_reader
from edge_agent.store.queries import iter_encoded_entries
from edge_agent.store.verify import verify_store
from firmware_profiles import packaged_registry
from shared.journal import Alarm, Charge, Entry, Pocket, Reading, decode_entry
from tests.integration.lorawan.chirpstack import event_topic, up_event
from tests.integration.radio.estate import WATER_TARIFF, eventually
from tests.support.services import Broker

pytestmark = pytest.mark.anyio

DEV_EUI = "a1b2c3d4e5f60006"
#: R32.50 a kL: a litre is 3.25 cents.
WATER_CENTS_PER_L = Decimal("3.25")
_HOUR = timedelta(hours=1)


def config_text(tmp: Path, broker: Broker, application_id: str) -> str:
    (tmp / "water.toml").write_text(WATER_TARIFF)
    return f"""
[gateway]
id = "gw-w1"
store = "gw.sqlite3"

[web]
host = "127.0.0.1"
port = 0

[lorawan]
host = "{broker.host}"
port = {broker.port}
client_id = "gw-{uuid.uuid4().hex[:12]}"
clean_session = true
application_ids = ["{application_id}"]

[[meters]]
id = "water-6"
unit = "Unit 6"
utility = "water"
profile = "axioma-qalcosonic-w1"
dev_eui = "{DEV_EUI}"
uplink_interval_s = 3600
wallet = "w-unit-6"

[tariffs]
water = "water.toml"
"""


def hourly_volumes(last_hour: datetime, volume_at: dict[datetime, int]) -> list[int]:
    """The 24 whole-hour volumes a W1 frame logs, oldest first, the last at ``last_hour``."""
    return [volume_at[last_hour - (23 - i) * _HOUR] for i in range(24)]


def entries(tmp: Path) -> list[Entry]:
    return [decode_entry(data) for data in iter_encoded_entries(open_reader(tmp / "gw.sqlite3"))]


def readings(tmp: Path) -> list[tuple[int, Reading]]:
    return [
        (e.seq, e.body) for e in entries(tmp) if isinstance(e.body, Reading) and e.body.meter_id == "water-6"
    ]


async def test_w1_frames_sent_just_before_the_hour_bill_each_hour_once_at_its_logged_register(
    tmp_path: Path, mqtt_broker: Broker
) -> None:
    application_id = str(uuid.uuid4())
    registry = packaged_registry()
    config = load_config(
        config_text(tmp_path, mqtt_broker, application_id), source=tmp_path / "edge.toml", registry=registry
    )
    agent = GatewayAgent(config, registry=registry)
    # "12:00" of the module's docstring; three hours ago, so the last frame is sent before now.
    noon = whole_hour(datetime.now(UTC)) - 3 * _HOUR
    # 240 L an hour until 12:00, 240 L from 12:00 to 13:00 and 280 L from 13:00 to 14:00.
    volume_at = {noon - h * _HOUR: 51_640 - 240 * h for h in range(30)}
    volume_at[noon + _HOUR] = 51_880
    volume_at[noon + 2 * _HOUR] = 52_160
    # Sent at 12:58:19, 13:58:50 and 14:59:04.
    sent_at = [timedelta(minutes=m, seconds=s) for m, s in ((58, 19), (118, 50), (179, 4))]

    stop = asyncio.Event()
    run = asyncio.create_task(agent.run(stop))
    try:
        await eventually(lambda: agent.radio.lorawan is not None, "the agent started its LoRaWAN bridge")
        assert agent.radio.lorawan is not None
        await agent.radio.lorawan.wait_connected(10)
        await agent.billing.apply_cloud_balance("w-unit-6", Pocket.WATER, 100_000, 0)
        async with aiomqtt.Client(mqtt_broker.host, mqtt_broker.port) as chirpstack:
            for f_cnt, after_noon in enumerate(sent_at, start=1):
                at = noon + after_noon
                frame = qalcosonic_w1_frame(int(at.timestamp()), hourly_volumes(whole_hour(at), volume_at))
                event = up_event(application_id, DEV_EUI, frame, f_cnt=f_cnt, f_port=W1_F_PORT, at=at)
                await chirpstack.publish(event_topic(application_id, DEV_EUI, "up"), event, qos=1)
                hour = whole_hour(at)
                await eventually(
                    lambda hour=hour: any(r.read_at >= hour for _, r in readings(tmp_path)),  # type: ignore[misc]
                    f"the frame sent at {at:%H:%M:%S} is read",
                )
    finally:
        stop.set()
        await run

    journal = [e.body for e in entries(tmp_path)]
    read = readings(tmp_path)
    assert [(r.read_at, r.billing_register) for _, r in read] == [
        (noon, Decimal(51_640)), (noon + _HOUR, Decimal(51_880)), (noon + 2 * _HOUR, Decimal(52_160))
    ], "each frame's register is read at the whole hour it logged it, once"  # fmt: skip
    alarms = [b for b in journal if isinstance(b, Alarm) and b.meter_id == "water-6"]
    assert alarms == [], "an hour's water over an hour is plausible"
    charges = [b for b in journal if isinstance(b, Charge) and b.meter_id == "water-6"]
    assert [(c.reading_seq, c.interval_start, c.interval_end, c.quantity) for c in charges] == [
        (read[1][0], noon, noon + _HOUR, Decimal(240)), (read[2][0], noon + _HOUR, noon + 2 * _HOUR, Decimal(280))
    ], "each hour's litres are charged once, by the reading that ends it, over the hour they flowed in"  # fmt: skip
    assert sum(c.amount_cents for c in charges) == (240 + 280) * WATER_CENTS_PER_L
    assert verify_store(tmp_path / "gw.sqlite3").ok

"""Issue 6's "done when": a gateway with one meter of each protocol rates all of them, and opens and
closes a relay over LoRaWAN with confirmation.

The agent runs as ``quantify-edge run`` builds it, against real peers: a pymodbus SDM120, ChirpStack
v4 events on the machine's Mosquitto (byte-for-byte its JSON), and an aiocoap NB-IoT meter.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from edge_agent.config import load_config
from edge_agent.daemon import GatewayAgent
from edge_agent.errors import ConfigError
from edge_agent.status import RelayView
from edge_agent.store.verify import verify_store
from firmware_profiles import packaged_registry
from shared.credit import RelayState
from shared.journal import Alarm, Charge, Pocket, Reading, ReadingSource, RelayCommand, RelayStateConfirmed
from shared.quantities import Utility
from shared.sync.gateway_api import ConfigMeter, GatewayConfigDocument
from tests.integration.lorawan.chirpstack import ack_event, ws52x_frame
from tests.integration.nbiot.meter import counters_frame, nbiot_frame
from tests.integration.radio.estate import (
    ELECTRICITY_TARIFF,
    IMEI,
    WATER_TARIFF,
    Estate,
    config_text,
    eventually,
    running_estate,
)
from tests.support.services import Broker, free_port

pytestmark = pytest.mark.anyio

ELECTRICITY_CENTS_PER_KWH = Decimal("285")
WATER_CENTS_PER_KL = Decimal("3250")


def em300_frame(pulses: int) -> bytes:
    """Milesight EM300-DI: battery (01 75) then the pulse counter (05 C8, u32 little-endian), as in
    the vendor's example ``01755c05c800010000`` (battery 92 %, 256 pulses)."""
    return bytes.fromhex("01755c05c8") + pulses.to_bytes(4, "little")


def charges(estate: Estate, meter_id: str) -> list[Charge]:
    return [b for b in estate.bodies() if isinstance(b, Charge) and b.meter_id == meter_id]


def readings(estate: Estate, meter_id: str) -> list[Reading]:
    return [b for b in estate.bodies() if isinstance(b, Reading) and b.meter_id == meter_id]


async def next_downlink(estate: Estate, dev_eui: str) -> dict[str, Any]:
    topic, body = await asyncio.wait_for(estate.downlinks.get(), timeout=10)
    assert topic == f"application/{estate.application_id}/device/{dev_eui}/command/down"
    return body


async def test_one_meter_of_each_protocol_is_rated_through_the_one_pipeline(
    tmp_path: Path, mqtt_broker: Broker
) -> None:
    async with running_estate(tmp_path, mqtt_broker) as estate:
        agent = estate.agent
        for wallet, pocket in (("w-flat-1", Pocket.ELECTRICITY), ("w-flat-2", Pocket.WATER),
                               ("w-flat-3", Pocket.WATER)):  # fmt: skip
            await agent.billing.apply_cloud_balance(wallet, pocket, 1_000_000, 0)

        # LoRaWAN pulse counter: ChirpStack's example frame (256 pulses x 10 L), then 10 pulses more.
        await estate.up(estate.pulse_eui, em300_frame(256), f_cnt=1)
        # NB-IoT: 1000 pulses x 10 L, then 10 more; the second frame is resent (its answer was lost).
        assert (await estate.nbiot.post(nbiot_frame(IMEI, 1, counters_frame(1000)))).code.is_successful()
        await asyncio.sleep(1.1)  # ten minutes of agent time between each meter's frames
        await estate.up(estate.pulse_eui, em300_frame(266), f_cnt=2)
        second = nbiot_frame(IMEI, 2, counters_frame(1010))
        assert (await estate.nbiot.post(second)).code.is_successful()
        assert (await estate.nbiot.post(second)).code.is_successful()
        await eventually(lambda: len(charges(estate, "water-2")) > 0, "the EM300-DI's litres are charged")
        await eventually(lambda: len(charges(estate, "flat-1")) > 1, "the SDM120 is polled and charged")

        for meter_id in ("water-2", "water-3"):
            billed = charges(estate, meter_id)
            assert sum(c.quantity for c in billed) == 100, f"{meter_id}: 10 pulses x 10 L, billed once"
            assert sum(c.amount_cents for c in billed) == 325, f"{meter_id}: 0.1 kL at R32.50/kL"
        sources = {r.meter_id: r.source for r in estate.bodies() if isinstance(r, Reading)}
        assert sources == {"flat-1": ReadingSource.MODBUS, "water-2": ReadingSource.LORAWAN,
                           "water-3": ReadingSource.NBIOT}  # fmt: skip
        assert len(readings(estate, "water-3")) == 2, "the resent NB-IoT frame is not read again"
        modbus = charges(estate, "flat-1")
        kwh = sum(c.quantity for c in modbus) / 1000
        assert abs(sum(c.amount_cents for c in modbus) - kwh * ELECTRICITY_CENTS_PER_KWH) < 1
        assert agent.last_register["water-2"][0] == 2660 and agent.last_register["water-3"][0] == 10_100

        await estate.up(estate.pulse_eui, bytes.fromhex("ffee"), f_cnt=3)  # a frame that does not decode
        await eventually(
            lambda: any(isinstance(b, Alarm) and b.kind.value == "decode_error" for b in estate.bodies()),
            "the undecodable frame is journalled as an alarm",
        )
        assert len(readings(estate, "water-2")) == 2, "and never as a reading"

        shown = {m.id: m for m in agent.status().meters}
        assert (shown["water-2"].protocol, shown["water-2"].device_id) == ("lorawan", estate.pulse_eui)
        assert (shown["water-2"].rssi_dbm, shown["water-2"].snr_db) == (-36, 10.5), "ChirpStack's rxInfo"
        assert shown["water-3"].protocol == "nbiot" and shown["water-3"].health.online
        assert shown["water-3"].health.last_good_read_at is not None
        assert shown["flat-1"].protocol == "modbus" and shown["flat-1"].bus == "bus-1"
    assert verify_store(tmp_path / "gw.sqlite3").ok


async def test_a_lorawan_relay_opens_at_zero_credit_and_closes_after_a_top_up_each_confirmed_by_an_uplink(
    tmp_path: Path, mqtt_broker: Broker
) -> None:
    async with running_estate(tmp_path, mqtt_broker) as estate:
        agent, eui = estate.agent, estate.socket_eui
        await agent.billing.apply_cloud_balance("w-flat-2", Pocket.ELECTRICITY, 500, 0)
        await estate.up(eui, ws52x_frame(100_000, relay_on=True), f_cnt=1)
        await eventually(
            lambda: agent.relays.confirmed("socket-2") is RelayState.CLOSED, "the socket says on"
        )

        await asyncio.sleep(1.1)
        first_charge = await estate.up(eui, ws52x_frame(102_000, relay_on=True), f_cnt=2)  # 2 kWh: R5.70
        down = await next_downlink(estate, eui)
        assert (down["devEui"], down["confirmed"], down["fPort"]) == (eui, True, 85)
        assert base64.b64decode(down["data"]) == bytes.fromhex("080000FF"), "WS52x: socket off"
        assert sum(c.amount_cents for c in charges(estate, "socket-2")) == 570
        await asyncio.sleep(0.3)
        assert agent.relays.confirmed("socket-2") is RelayState.CLOSED, "sent is not switched"

        await estate.publish(eui, "ack", ack_event(estate.application_id, eui, down["id"]))
        await asyncio.sleep(0.3)
        assert agent.relays.confirmed("socket-2") is RelayState.CLOSED, "acknowledged is not switched"
        await estate.up(eui, ws52x_frame(102_000, relay_on=False), f_cnt=3)
        await eventually(lambda: agent.relays.confirmed("socket-2") is RelayState.OPEN, "the socket says off")

        # Repeats: ChirpStack publishing the same event again, and the meter's fCnt 2 under a new id.
        await estate.publish(eui, "up", first_charge)
        await estate.up(eui, ws52x_frame(150_000, relay_on=False), f_cnt=2, dedup=str(uuid.uuid4()))

        # A top-up: the cloud's balance as of our last seq, applied as the sync client applies it.
        await agent.billing.apply_cloud_balance("w-flat-2", Pocket.ELECTRICITY, 5000, agent.journal.head.seq)
        down = await next_downlink(estate, eui)
        assert base64.b64decode(down["data"]) == bytes.fromhex("080100FF"), "WS52x: socket on"
        await estate.publish(eui, "ack", ack_event(estate.application_id, eui, down["id"]))
        await asyncio.sleep(1.1)
        await estate.up(eui, ws52x_frame(102_000, relay_on=True), f_cnt=4)
        await eventually(
            lambda: agent.relays.confirmed("socket-2") is RelayState.CLOSED, "the socket says on"
        )

        bodies = estate.bodies()
        commands = [b for b in bodies if isinstance(b, RelayCommand) and b.meter_id == "socket-2"]
        confirmed = [b for b in bodies if isinstance(b, RelayStateConfirmed) and b.meter_id == "socket-2"]
        assert [c.action.value for c in commands] == ["open", "close"]
        assert [c.closed for c in confirmed] == [True, False, True]
        assert [c.command_id for c in confirmed[1:]] == [c.command_id for c in commands]
        assert len(readings(estate, "socket-2")) == 4, "the repeated event and fCnt are not read again"
        assert sum(c.amount_cents for c in charges(estate, "socket-2")) == 570, "nothing billed twice"
        assert agent.status().meters[1].relay is RelayView.CLOSED
    assert verify_store(tmp_path / "gw.sqlite3").ok


async def test_a_silent_radio_meter_raises_communication_lost_and_its_next_frame_clears_it(
    tmp_path: Path, mqtt_broker: Broker
) -> None:
    # Uplinks due every 10 agent minutes (a real second), lost after two missed: two real seconds.
    async with running_estate(tmp_path, mqtt_broker, silence=(600, 2)) as estate:
        agent = estate.agent

        def alarms(meter_id: str) -> list[str]:
            kinds = [b.kind.value for b in estate.bodies() if isinstance(b, Alarm) and b.meter_id == meter_id]
            return [kind for kind in kinds if kind.startswith("communication")]

        def online(meter_id: str) -> bool:
            return next(m for m in agent.status().meters if m.id == meter_id).health.online

        await eventually(lambda: not online("water-3") and not online("socket-2"), "both are reported lost")
        lost = {a.meter_id: a.kind for a in agent.status().alarms if a.kind.startswith("communication")}
        assert lost == {meter_id: "communication_lost" for meter_id in ("socket-2", "water-2", "water-3")}
        assert online("flat-1"), "the Modbus meter answers its polls"

        assert (await estate.nbiot.post(nbiot_frame(IMEI, 1, counters_frame(1000)))).code.is_successful()
        await eventually(lambda: "communication_restored" in alarms("water-3"), "water-3 is heard again")
        assert alarms("water-3")[:2] == ["communication_lost", "communication_restored"]
        assert alarms("socket-2") == ["communication_lost"], "one alarm while it stays silent, not one a tick"


async def test_a_new_cloud_config_moves_the_lorawan_bridge_to_its_meters(
    tmp_path: Path, mqtt_broker: Broker
) -> None:
    async with running_estate(tmp_path, mqtt_broker) as estate:
        agent, new_eui = estate.agent, secrets.token_hex(8)
        old_bridge = agent.radio.lorawan
        kept = [m for m in agent.config.meters if m.id != "socket-2"]
        cloud = [ConfigMeter(id=m.id, unit=m.unit, utility=m.utility, profile=m.profile, wallet_id=m.wallet_id,
                             pocket=m.pocket) for m in kept]  # fmt: skip
        cloud.append(ConfigMeter(id="socket-4", unit="Flat 4", utility=Utility.ELECTRICITY, profile="milesight-ws52x",
                                 wallet_id="w-flat-4", pocket=Pocket.ELECTRICITY, dev_eui=new_eui))  # fmt: skip
        document = GatewayConfigDocument(
            version=2, gateway_id=agent.gateway_id, estate_id="estate-1", timezone="Africa/Johannesburg",
            holiday_country="ZA", meters=cloud, wallets=[],
            tariffs={Utility.ELECTRICITY: [ELECTRICITY_TARIFF], Utility.WATER: [WATER_TARIFF]}, credit={},
        )  # fmt: skip
        merged = agent.check_document(document)
        assert merged.unreachable == {}
        await agent.use_config(merged)
        assert agent.radio.lorawan is not None and agent.radio.lorawan is not old_bridge
        await agent.radio.lorawan.wait_connected(10)
        await agent.billing.apply_cloud_balance("w-flat-4", Pocket.ELECTRICITY, 100_000, 0)

        await estate.up(estate.socket_eui, ws52x_frame(1_000, relay_on=True), f_cnt=1)  # no longer ours
        await estate.up(new_eui, ws52x_frame(50_000, relay_on=True), f_cnt=1)
        await asyncio.sleep(1.1)
        await estate.up(new_eui, ws52x_frame(51_000, relay_on=True), f_cnt=2)
        await eventually(lambda: len(charges(estate, "socket-4")) > 0, "the new meter's kWh are charged")
        assert sum(c.amount_cents for c in charges(estate, "socket-4")) == 285, "1 kWh at R2.85"
        assert readings(estate, "socket-2") == [], "a meter the cloud removed is not read"
        water = next(m for m in agent.config.meters if m.id == "water-2")
        assert water.pulse_weight == Decimal(10), "the pulse weight stays the site's"


async def test_a_missing_nbiot_key_folder_stops_the_agent_naming_the_meter_and_the_folder(
    tmp_path: Path, mqtt_broker: Broker
) -> None:
    ids = {"application": str(uuid.uuid4()), "socket": secrets.token_hex(8), "pulse": secrets.token_hex(8)}
    text = config_text(tmp_path, mqtt_broker, free_port(), free_port(), ids, (86_400, 3))
    agent = GatewayAgent(load_config(text, source=tmp_path / "edge.toml", registry=packaged_registry()))
    expected = (
        rf"meter water-3 \(IMEI {IMEI}\): expected its OSCORE security context in '{tmp_path}/keys/{IMEI}'"
    )
    with pytest.raises(ConfigError, match=expected):
        await agent.run(asyncio.Event())
    assert agent.radio.lorawan is None, "the LoRaWAN bridge it had started is stopped again"

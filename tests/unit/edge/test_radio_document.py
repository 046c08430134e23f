"""The cloud's config document with LoRaWAN (``dev_eui``) and NB-IoT (``imei``) meters.

The cloud knows a radio meter's device; the site knows its pulse weight, its uplink interval and
whether its keys are provisioned. Merged, a radio meter the gateway can hear runs; one it cannot is
listed as unreachable with the reason, and the rest of the document still applies.
"""

from __future__ import annotations

import dataclasses
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from edge_agent.config import EdgeConfig, load_config_file
from edge_agent.config.document import config_from_document
from firmware_profiles import Transport, packaged_registry
from shared.journal import Pocket
from shared.quantities import Utility
from shared.sync.gateway_api import ConfigMeter, ConfigWallet, GatewayConfigDocument
from tests.support.paths import REPO_ROOT

TARIFFS = REPO_ROOT / "examples" / "tariffs"
KEYED_IMEI = "356938035643809"


@pytest.fixture
def local(tmp_path: Path) -> EdgeConfig:
    """The documented example, its NB-IoT keys in ``tmp_path/oscore``, one meter's provisioned."""
    shutil.copytree(TARIFFS, tmp_path / "tariffs")
    (tmp_path / "edge").mkdir()
    text = (REPO_ROOT / "examples" / "edge" / "edge.toml").read_text()
    (tmp_path / "edge" / "edge.toml").write_text(
        text.replace("/var/lib/quantify/oscore", str(tmp_path / "oscore"))
    )
    (tmp_path / "oscore" / KEYED_IMEI).mkdir(parents=True)
    (tmp_path / "oscore" / KEYED_IMEI / "settings.json").write_text("{}")
    return load_config_file(tmp_path / "edge" / "edge.toml")


def meter(meter_id: str, profile: str, utility: Utility = Utility.WATER, **connection: object) -> ConfigMeter:
    return ConfigMeter(id=meter_id, unit=f"Unit {meter_id}", utility=utility, profile=profile, wallet_id="w1",
                       pocket=Pocket.for_utility(utility), poll_interval_s=900, **connection)  # type: ignore[arg-type]  # fmt: skip


def document(meters: list[ConfigMeter]) -> GatewayConfigDocument:
    return GatewayConfigDocument(
        version=3, gateway_id="gw-oak-estate-01", estate_id="estate-1", timezone="Africa/Johannesburg",
        holiday_country="ZA", meters=meters, wallets=[ConfigWallet(id="w1")],
        tariffs={Utility.ELECTRICITY: [(TARIFFS / "flat.toml").read_text()],
                 Utility.WATER: [(TARIFFS / "water_blocks.toml").read_text()]},
        credit={},
    )  # fmt: skip


def test_radio_meters_from_the_cloud_run_with_their_site_details(local: EdgeConfig) -> None:
    merged = config_from_document(
        local,
        document([
            meter("socket-9", "milesight-ws52x", Utility.ELECTRICITY, dev_eui="0101010101010101"),
            meter("unit-01-water", "milesight-em300-di"),  # connection kept on site
            meter("unit-02-water", "adeunis-pulse-nbiot", imei=KEYED_IMEI),  # the same device as on site
        ]),
        packaged_registry(),
    )  # fmt: skip
    by_id = {m.id: m for m in merged.config.meters}
    assert merged.unreachable == {}
    socket = by_id["socket-9"]
    assert (socket.transport, socket.dev_eui, socket.bus, socket.poll_interval_s) == (
        Transport.LORAWAN, "0101010101010101", None, 900,
    )  # fmt: skip
    water = by_id["unit-01-water"]
    assert (water.dev_eui, water.pulse_weight, water.poll_interval_s, water.wallet_id) == (
        "24e124128c123456", Decimal(10), 1200, "w1",
    ), "edge.toml's device, pulse weight and uplink interval; the cloud's wallet"  # fmt: skip
    nbiot = by_id["unit-02-water"]
    assert (nbiot.transport, nbiot.imei, nbiot.pulse_weight, nbiot.pulse_input) == (
        Transport.NBIOT, KEYED_IMEI, Decimal(1), "A",
    )  # fmt: skip


def test_a_radio_meter_the_gateway_cannot_hear_is_unreachable_with_its_reason(local: EdgeConfig) -> None:
    merged = config_from_document(
        local,
        document([
            meter("pulse-new", "milesight-em300-di", dev_eui="0202020202020202"),
            meter("nb-unkeyed", "adeunis-pulse-nbiot", imei="490154203237518"),
            meter("wrong-kind", "eastron-sdm120", Utility.ELECTRICITY, dev_eui="0303030303030303"),
            meter("socket-a", "milesight-ws52x", Utility.ELECTRICITY, dev_eui="0404040404040404"),
            meter("socket-b", "milesight-ws52x", Utility.ELECTRICITY, dev_eui="0404040404040404"),
            meter("two-ways", "milesight-ws52x", Utility.ELECTRICITY, dev_eui="0505050505050505", bus="rs485-a"),
        ]),
        packaged_registry(),
    )  # fmt: skip
    assert [m.id for m in merged.config.meters] == ["socket-a"]
    why = merged.unreachable
    assert "counts pulses and edge.toml gives this meter no pulse_weight" in why["pulse-new"]
    assert "no OSCORE security context for IMEI 490154203237518" in why["nb-unkeyed"]
    assert "eastron-sdm120 is a modbus meter; its connection is lorawan" in why["wrong-kind"]
    assert why["socket-b"] == "its device 0404040404040404 is already meter socket-a's"
    assert why["two-ways"] == "the cloud's config gives it more than one connection (bus, dev_eui)"


def test_without_a_lorawan_section_a_lorawan_meter_is_unreachable(local: EdgeConfig) -> None:
    site = dataclasses.replace(local, lorawan=None, meters=())
    merged = config_from_document(
        site, document([meter("s", "milesight-ws52x", Utility.ELECTRICITY, dev_eui="0101010101010101")]),
        packaged_registry(),
    )  # fmt: skip
    assert merged.unreachable == {"s": "it is a LoRaWAN meter and edge.toml has no [lorawan] section"}

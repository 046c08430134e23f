"""``[lorawan]`` and ``[nbiot]`` as the daemon hands them over: refusals name the key path."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from edge_agent.adapters.frames import RadioSettingsError
from edge_agent.adapters.lorawan import LoRaWANBridge, parse_lorawan
from edge_agent.adapters.nbiot import parse_nbiot
from edge_agent.errors import ConfigError
from firmware_profiles import packaged_registry


def lorawan(**table: Any) -> Any:
    return parse_lorawan(table, source="edge.toml", base=Path("/etc/quantify"), gateway_id="gw-1")


def test_defaults_and_a_device_read_as_given() -> None:
    settings = lorawan(devices=[{"meter": "m1", "dev_eui": "24E124128C123456", "pulse_weight": "10"}])
    assert (settings.host, settings.port, settings.tls, settings.client_id) == (
        "127.0.0.1",
        1883,
        False,
        "quantify-gw-1",
    )
    assert settings.devices[0].dev_eui == "24e124128c123456" and settings.devices[0].pulse_weight == Decimal(
        10
    )
    tls = lorawan(tls=True, ca_file="ca.pem", username="u", password="p")
    assert tls.port == 8883 and tls.ca_file == Path("/etc/quantify/ca.pem")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"hots": "x"}, "at lorawan.hots: expected one of"),
        ({"port": 0}, "at lorawan.port: expected an integer from 1 to 65535, got 0"),
        ({"password": "p"}, "at lorawan.username: expected a username"),
        ({"ca_file": "ca.pem"}, "at lorawan.tls: expected true"),
        ({"application_ids": ["a/b"]}, "at lorawan.application_ids: expected one MQTT topic level"),
        ({"devices": [{"meter": "m1", "dev_eui": "xyz"}]}, "at lorawan.devices[0].dev_eui: expected 16 hexadecimal"),
        ({"devices": [{"meter": "m1", "dev_eui": "0101010101010101", "pulse_weight": 10.5}]},
         "at lorawan.devices[0].pulse_weight: expected a positive decimal as a string"),
        ({"devices": [{"meter": "m1", "dev_eui": "0101010101010101"}, {"meter": "m1", "dev_eui": "0202020202020202"}]},
         "at lorawan.devices[1].meter: expected a value no other entry uses, got 'm1'"),
    ],
)  # fmt: skip
def test_a_wrong_lorawan_setting_is_refused_naming_its_key(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=None) as refused:
        lorawan(**table)
    assert message in str(refused.value) and str(refused.value).startswith("edge.toml: ")


def test_a_device_that_does_not_fit_its_meter_is_refused() -> None:
    registry = packaged_registry()
    pulse = lorawan(devices=[{"meter": "m1", "dev_eui": "0101010101010101"}])
    with pytest.raises(
        RadioSettingsError, match=r"lorawan.devices\[0\].pulse_weight: expected the litres or Wh"
    ):
        LoRaWANBridge(pulse, {"m1": registry.get("milesight-em300-di")}, sink=None)  # type: ignore[arg-type]
    with pytest.raises(RadioSettingsError, match="is a nbiot meter, not a lorawan one"):
        LoRaWANBridge(pulse, {"m1": registry.get("adeunis-pulse-nbiot")}, sink=None)  # type: ignore[arg-type]
    with pytest.raises(RadioSettingsError, match="expected the id of a configured meter, got 'm1'"):
        LoRaWANBridge(pulse, {}, sink=None)  # type: ignore[arg-type]


def test_nbiot_devices_need_an_imei_and_their_own_oscore_context() -> None:
    settings = parse_nbiot(
        {"port": 5684, "devices": [{"meter": "m9", "imei": "1122334455667788", "oscore": "oscore/m9"}]},
        source="edge.toml", base=Path("/etc/quantify"),
    )  # fmt: skip
    assert settings.devices[0].oscore_dir == Path("/etc/quantify/oscore/m9") and settings.path == "uplink"
    with pytest.raises(ConfigError, match=r"at nbiot.devices\[0\].imei: expected 15 or 16 decimal digits"):
        parse_nbiot(
            {"devices": [{"meter": "m9", "imei": "12ab", "oscore": "x"}]}, source="edge.toml", base=Path()
        )
    with pytest.raises(ConfigError, match=r"at nbiot.devices\[0\].oscore: expected the folder"):
        parse_nbiot(
            {"devices": [{"meter": "m9", "imei": "112233445566778"}]}, source="edge.toml", base=Path()
        )

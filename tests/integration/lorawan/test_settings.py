"""``[lorawan]`` and ``[nbiot]`` as the daemon hands them over: refusals name the key path."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from edge_agent.adapters.frames import RadioSettingsError
from edge_agent.adapters.lorawan import LoRaWANDevice, parse_lorawan
from edge_agent.adapters.lorawan.bridge import LoRaWANBridge
from edge_agent.adapters.nbiot import parse_nbiot
from edge_agent.errors import ConfigError
from firmware_profiles import packaged_registry


def lorawan(**table: Any) -> Any:
    return parse_lorawan(table, source="edge.toml", base=Path("/etc/quantify"), gateway_id="gw-1")


def test_defaults_read_as_given_and_the_password_can_stay_in_its_own_file(tmp_path: Path) -> None:
    settings = lorawan()
    assert (
        settings.host,
        settings.port,
        settings.tls,
        settings.client_id,
        settings.lost_after_intervals,
    ) == (
        "127.0.0.1",
        1883,
        False,
        "quantify-gw-1",
        3,
    )
    tls = lorawan(tls=True, ca_file="ca.pem", username="u", password="p")
    assert tls.port == 8883 and tls.ca_file == Path("/etc/quantify/ca.pem")
    (tmp_path / "mqtt.pass").write_text("s3cret\n")
    table = {"username": "u", "password_file": "mqtt.pass"}
    assert parse_lorawan(table, source="edge.toml", base=tmp_path, gateway_id="gw-1").password == "s3cret"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"hots": "x"}, "at lorawan.hots: expected one of"),
        ({"port": 0}, "at lorawan.port: expected an integer from 1 to 65535, got 0"),
        ({"password": "p"}, "at lorawan.username: expected a username"),
        ({"username": "u", "password_file": "no-such-file"}, "at lorawan.password_file: expected a readable file"),
        ({"username": "u", "password": "p", "password_file": "f"}, "at lorawan.password_file: expected password or"),
        ({"ca_file": "ca.pem"}, "at lorawan.tls: expected true"),
        ({"application_ids": ["a/b"]}, "at lorawan.application_ids: expected one MQTT topic level"),
        ({"lost_after_intervals": 0}, "at lorawan.lost_after_intervals: expected an integer from 1 to 1000"),
        ({"devices": []}, "at lorawan.devices: expected one of"),
    ],
)  # fmt: skip
def test_a_wrong_lorawan_setting_is_refused_naming_its_key(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        lorawan(**table)
    assert message in str(refused.value) and str(refused.value).startswith("edge.toml: ")


def test_a_device_that_does_not_fit_its_meter_is_refused() -> None:
    registry = packaged_registry()
    pulse = dataclasses.replace(
        lorawan(), devices=(LoRaWANDevice(meter_id="m1", dev_eui="0101010101010101"),)
    )
    with pytest.raises(
        RadioSettingsError, match=r"lorawan.devices\[0\].pulse_weight: expected the litres or Wh"
    ):
        LoRaWANBridge(pulse, {"m1": registry.get("milesight-em300-di")}, sink=None)  # type: ignore[arg-type]
    with pytest.raises(RadioSettingsError, match="is a nbiot meter, not a lorawan one"):
        LoRaWANBridge(pulse, {"m1": registry.get("adeunis-pulse-nbiot")}, sink=None)  # type: ignore[arg-type]
    with pytest.raises(RadioSettingsError, match="expected the id of a configured meter, got 'm1'"):
        LoRaWANBridge(pulse, {}, sink=None)  # type: ignore[arg-type]


def test_nbiot_keys_are_one_folder_per_imei_under_oscore_dir() -> None:
    settings = parse_nbiot({"port": 5684, "oscore_dir": "/var/lib/quantify/oscore"}, source="edge.toml",
                           base=Path("/etc/quantify"))  # fmt: skip
    assert settings.oscore_context("112233445566778") == Path("/var/lib/quantify/oscore/112233445566778")
    assert parse_nbiot({}, source="edge.toml", base=Path("/etc/quantify")).oscore_dir == Path(
        "/etc/quantify/oscore"
    )
    with pytest.raises(ConfigError, match=r"at nbiot.path: expected one URI path segment"):
        parse_nbiot({"path": "a/b"}, source="edge.toml", base=Path())

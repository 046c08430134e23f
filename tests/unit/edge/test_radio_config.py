"""Radio meters in ``edge.toml``: one connection per meter, and every mistake named by file and key."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from edge_agent.config import load_config_file
from edge_agent.errors import ConfigError
from firmware_profiles import Transport
from tests.support.paths import REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "edge" / "edge.toml"
#: The example's first LoRaWAN meter (a WS52x socket), by its first keys.
SOCKET = (
    'profile = "milesight-ws52x"       # a LoRaWAN smart socket with a relay\ndev_eui = "24e124148b123456"'
)
PULSE_WEIGHT = 'pulse_weight = "10"               # litres per pulse of this water meter, as a decimal string'


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    (tmp_path / "edge").mkdir()
    shutil.copytree(REPO_ROOT / "examples" / "tariffs", tmp_path / "tariffs")
    shutil.copy(EXAMPLE, tmp_path / "edge" / "edge.toml")
    return tmp_path / "edge"


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"the example no longer contains {old!r}"
    path.write_text(text.replace(old, new, 1))


def test_the_example_has_one_meter_of_each_protocol_with_its_radio_details(config_dir: Path) -> None:
    config = load_config_file(config_dir / "edge.toml")
    by_id = {meter.id: meter for meter in config.meters}
    assert {meter.transport for meter in config.meters} == {
        Transport.MODBUS,
        Transport.LORAWAN,
        Transport.NBIOT,
    }
    socket, water, nbiot = by_id["unit-02-socket"], by_id["unit-01-water"], by_id["unit-02-water"]
    assert (socket.bus, socket.address, socket.dev_eui, socket.poll_interval_s) == (
        None,
        None,
        "24e124148b123456",
        1200,
    )
    assert (water.pulse_weight, nbiot.pulse_weight, nbiot.pulse_input) == (Decimal(10), Decimal(1), "A")
    assert (nbiot.imei, nbiot.history_period_s) == ("356938035643809", 3600)
    assert config.lorawan is not None and config.lorawan.devices == (), "the agent fills devices from meters"
    assert config.nbiot is not None
    assert config.nbiot.oscore_context("356938035643809") == Path("/var/lib/quantify/oscore/356938035643809")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (SOCKET, SOCKET + '\nbus = "rs485-a"',
         r"meters\[3\]: expected exactly one of bus \(Modbus\), dev_eui \(LoRaWAN\) or imei \(NB-IoT\), got bus, dev_eui"),
        ('dev_eui = "24e124148b123456"', 'comment = "no connection"',
         r"meters\[3\]: expected exactly one of bus .*got none of them"),
        ('dev_eui = "24e124148b123456"', 'dev_eui = "24e1-2414"', r"meters\[3\]\.dev_eui: expected 16 hexadecimal digits"),
        ('dev_eui = "24e124148b123456"', 'imei = "356938035643809"',
         r"meters\[3\]\.profile: expected a nbiot meter's profile \(milesight-ws52x is a lorawan meter\)"),
        ('imei = "356938035643809"', 'imei = "35693803"', r"meters\[5\]\.imei: expected 15 or 16 decimal digits"),
        ('dev_eui = "24e124128c123456"', 'dev_eui = "24E124148B123456"',
         r"meters\[4\]\.dev_eui: '24e124148b123456' is used by another meter"),
        (PULSE_WEIGHT, "", r"meters\[4\]\.pulse_weight: expected the litres or Wh one pulse stands for"),
        (PULSE_WEIGHT, "pulse_weight = 10.5", r"meters\[4\]\.pulse_weight: expected a positive decimal written as a string"),
        ('pulse_input = "A"', 'pulse_input = "C"', r"meters\[5\]\.pulse_input: expected one of adeunis-pulse-nbiot's inputs \(A, B\)"),
        ('uplink_interval_s = 1200', 'poll_interval_s = 60', r"meters\[3\]\.poll_interval_s: expected one of the keys"),
        ('address = 2\n', 'address = 2\nuplink_interval_s = 60\n', r"meters\[1\]\.uplink_interval_s: expected one of the keys"),
        ('[nbiot]\nhost', '[nbiot_off]\nhost', r"nbiot_off: expected one of the keys"),
        ('port = 1883 ', 'port = 0 ', r"at lorawan\.port: expected an integer from 1 to 65535"),
        ('lost_after_intervals = 3 ', 'lost_after_intervals = 0 ', r"at lorawan\.lost_after_intervals: expected an integer"),
        ('path = "uplink"', 'path = "a/b"', r"at nbiot\.path: expected one URI path segment"),
    ],
)  # fmt: skip
def test_a_wrong_radio_meter_or_section_fails_at_start_naming_file_and_key(
    config_dir: Path, old: str, new: str, message: str
) -> None:
    replace_in(config_dir / "edge.toml", old, new)
    with pytest.raises(ConfigError, match=message) as refused:
        load_config_file(config_dir / "edge.toml")
    assert str(refused.value).startswith(str(config_dir / "edge.toml"))


@pytest.mark.parametrize(("section", "meter"), [("lorawan", 3), ("nbiot", 5)])
def test_a_radio_meter_needs_its_protocols_section(config_dir: Path, section: str, meter: int) -> None:
    text = (config_dir / "edge.toml").read_text()
    start = text.index(f"[{section}]\n")
    end = text.index("\n[", start + 1)
    (config_dir / "edge.toml").write_text(text[:start] + text[end + 1 :])
    key = "dev_eui" if section == "lorawan" else "imei"
    with pytest.raises(
        ConfigError, match=rf"meters\[{meter}\]\.{key}: expected a \[{section}\] section in the file"
    ):
        load_config_file(config_dir / "edge.toml")


def test_the_mqtt_password_can_be_kept_in_a_file_beside_the_config(config_dir: Path) -> None:
    (config_dir / "mqtt-password").write_text("not-in-the-config\n")
    replace_in(config_dir / "edge.toml", '# username = "quantify-gateway"', 'username = "quantify-gateway"')
    replace_in(
        config_dir / "edge.toml",
        '# password_file = "/etc/quantify/mqtt-password"',
        'password_file = "mqtt-password"',
    )
    lorawan = load_config_file(config_dir / "edge.toml").lorawan
    assert lorawan is not None and (lorawan.username, lorawan.password) == (
        "quantify-gateway",
        "not-in-the-config",
    )

"""A LoRaWAN/NB-IoT/wM-Bus profile file that cannot decode is refused at load, saying where and why."""

from __future__ import annotations

import pytest

from firmware_profiles import ProfileFileError, decode_uplink, parse_profile
from shared.quantities import Measurement
from tests.unit.firmware_profiles.profile_texts import VALID_PROFILE, edited

SOURCE = "installer/acme-socket.toml"

SOCKET = """\
model_id = "acme-socket"
manufacturer = "Acme"
model = "Socket"
utility = "electricity"
transport = "lorawan"

[billing]
measurement = "energy_import_wh"
resolution = "1"

[lorawan]
codec = "milesight"
f_ports = [85]

[lorawan.relay]
output = "socket"
f_port = 85
closed_hex = "080100FF"
open_hex = "080000FF"
confirmed_by = "relay_closed"

[[lorawan.channels]]
channel = 0x06
type = 0x83
size = 4
value = "uint32le"
measurement = "energy_import_wh"
unit = "kWh"
scale = "0.001"

[[lorawan.channels]]
channel = 0x08
type = 0x70
size = 1
value = "uint8"
relay_output = "socket"
"""

PULSES = """\
model_id = "acme-pulse"
manufacturer = "Acme"
model = "Pulse"
utility = "water"
transport = "nbiot"

[billing]
measurement = "volume_l"
resolution = "1"

[nbiot]
codec = "adeunis-pulse-nbiot"
pulses_become = "volume_l"
"""


def test_the_valid_files_load_and_decode() -> None:
    socket = parse_profile(SOCKET, SOURCE)
    decoded = decode_uplink(socket, 85, bytes.fromhex("068356040000087001"))
    assert decoded.measurements == {Measurement.ENERGY_IMPORT_WH: 1110}
    assert decoded.relay_closed is True
    assert parse_profile(PULSES, SOURCE).codec.pulses_become is Measurement.VOLUME_L


BAD_FILES = [
    (
        "unknown codec",
        edited('codec = "milesight"', 'codec = "acme"', SOCKET),
        "$.lorawan.codec",
        ["known codecs"],
    ),
    (
        "codec of another transport",
        edited('codec = "milesight"', 'codec = "kamstrup-wmbus"', SOCKET),
        "$.lorawan.codec",
        ["decodes wmbus frames, not lorawan"],
    ),
    ("no uplink ports", edited("f_ports = [85]\n", "", SOCKET), "$.lorawan.f_ports", ["fPort"]),
    ("a port twice", edited("[85]", "[85, 85]", SOCKET), "$.lorawan.f_ports", ["twice"]),
    ("port 0 is MAC", edited("[85]", "[0]", SOCKET), "$.lorawan.f_ports[0]", [">= 1"]),
    (
        "ports on NB-IoT",
        edited("pulses_become", "f_ports = [1]\npulses_become", PULSES),
        "$.nbiot.f_ports",
        [],
    ),
    (
        "modbus table in a lorawan file",
        SOCKET + "\n" + VALID_PROFILE[VALID_PROFILE.index("[modbus]") :],
        "$.modbus",
        ["does not belong"],
    ),
    ("no resolution", edited('resolution = "1"\n', "", SOCKET), "$.billing.resolution", ["declare it"]),
    (
        "billing measurement the codec lacks",
        edited('measurement = "energy_import_wh"\nunit', 'measurement = "power_w"\nunit', SOCKET).replace(
            'unit = "kWh"', 'unit = "kW"'
        ),
        "$.billing.measurement",
        ["yields: power_w"],
    ),
    ("unit of another quantity", edited('"kWh"', '"V"', SOCKET), "$.lorawan.channels[0].unit", ["'Wh'"]),
    (
        "size against value type",
        edited("size = 4", "size = 3", SOCKET),
        "$.lorawan.channels[0].size",
        ["4 byte"],
    ),
    (
        "entry twice",
        SOCKET
        + '\n[[lorawan.channels]]\nchannel = 0x08\ntype = 0x70\nsize = 1\nvalue = "uint8"\nrelay_output = "x"\n',
        "$.lorawan.channels[2]",
        ["listed twice"],
    ),
    (
        "skipped entry with a measurement",
        SOCKET + '\n[[lorawan.channels]]\nchannel = 0xFF\ntype = 0x01\nsize = 1\nmeasurement = "power_w"\n',
        "$.lorawan.channels[2].value",
        ["maps to nothing"],
    ),
    (
        "relay output not reported",
        edited('output = "socket"', 'output = "RO1"', SOCKET),
        "$.lorawan.relay.output",
        [],
    ),
    ("relay downlink without port", edited("f_port = 85\n", "", SOCKET), "$.lorawan.relay.f_port", ["fPort"]),
    (
        "open equals closed",
        edited('"080000FF"', '"080100FF"', SOCKET),
        "$.lorawan.relay.open_hex",
        ["differ"],
    ),
    ("odd hex", edited('"080000FF"', '"080000F"', SOCKET), "$.lorawan.relay.open_hex", []),
    (
        "confirmed by a measurement that is not the relay",
        edited('confirmed_by = "relay_closed"', 'confirmed_by = "voltage_v"', SOCKET),
        "$.lorawan.relay.confirmed_by",
        ["relay_closed"],
    ),
    (
        "pulses become the wrong quantity",
        edited('pulses_become = "volume_l"', 'pulses_become = "energy_import_wh"', PULSES),
        "$.nbiot.pulses_become",
        ["become volume_l"],
    ),
    (
        "pulses from a codec that counts none",
        edited('codec = "milesight"', 'codec = "axioma-w1"', SOCKET).split("[lorawan.relay]")[0]
        + 'pulses_become = "energy_import_wh"\n',
        "$.lorawan.pulses_become",
        ["counts no pulses"],
    ),
    (
        "table for a coded model",
        edited('"milesight"', '"axioma-w1"', SOCKET),
        "$.lorawan.channels",
        ["no channel"],
    ),
]


@pytest.mark.parametrize(
    ("text", "key_path", "words"), [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES]
)
def test_bad_payload_profile_names_file_key_path_and_expectation(
    text: str, key_path: str, words: list[str]
) -> None:
    with pytest.raises(ProfileFileError) as caught:
        parse_profile(text, SOURCE)
    error = caught.value
    assert (error.source, error.key_path) == (SOURCE, key_path)
    for word in words:
        assert word in error.problem

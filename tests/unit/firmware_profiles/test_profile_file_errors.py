"""A bad profile file is refused with the file, the key path and what was expected."""

from decimal import Decimal

import pytest

from firmware_profiles import FirmwareProfileError, ProfileFileError, parse_profile
from shared.quantities import Measurement
from tests.unit.firmware_profiles.profile_texts import VALID_PROFILE, edited

SOURCE = "installer/acme_test_1.toml"


def test_the_valid_text_loads() -> None:
    profile = parse_profile(VALID_PROFILE, SOURCE)
    assert profile.model_id == "acme-test-1"
    assert profile.source == SOURCE
    assert profile.fields[Measurement.ENERGY_IMPORT_WH].factor == Decimal(10)


# (what the installer got wrong, the broken text, the key path, words the message must contain)
BAD_FILES = [
    ("baud as text", edited("baud = 9600", 'baud = "9600"'), "$.modbus.line.baud", ["Expected `int`"]),
    ("odd baud", edited("baud = 9600", "baud = 9601"), "$.modbus.line.baud", ["9601"]),
    ("unknown key", edited('model = "Test 1"', 'model = "Test 1"\ncolour = "red"'), "$", ["colour"]),
    ("missing key", edited("request_spacing_ms = 50\n", ""), "$.modbus", ["request_spacing_ms"]),
    ("bad model id", edited('"acme-test-1"', '"Acme Test"'), "$.model_id", ["regex"]),
    (
        "unknown utility",
        edited('"electricity"', '"gas"'),
        "$.utility",
        ["'gas'", "expected one of: electricity, water"],
    ),
    (
        "unknown transport",
        edited('"modbus"', '"zigbee"'),
        "$.transport",
        ["'zigbee'", "expected one of: modbus, lorawan, nbiot, wmbus"],
    ),
    (
        "lorawan transport with a modbus table",
        edited('"modbus"', '"lorawan"'),
        "$.lorawan",
        ["[lorawan] table is missing"],
    ),
    ("no modbus table", VALID_PROFILE.split("[modbus]")[0], "$.modbus", ["[modbus] table is missing"]),
    (
        "unknown measurement",
        edited('"voltage_v"', '"volts"'),
        "$.modbus.registers[1].measurement",
        ["volts", "voltage_v"],
    ),
    (
        "unknown data type",
        edited('type = "uint16"', 'type = "uint8"'),
        "$.modbus.registers[1].type",
        ["uint8"],
    ),
    ("address past 16 bits", edited("0x0002", "0x10000"), "$.modbus.registers[1].address", ["<= 65535"]),
    (
        "scale as float",
        edited('scale = "0.1"', "scale = 0.1"),
        "$.modbus.registers[1].scale",
        ["decimal strings"],
    ),
    ("scale not a number", edited('"0.1"', '"a tenth"'), "$.modbus.registers[1].scale", ['"0.01"']),
    ("zero scale", edited('"0.1"', '"0"'), "$.modbus.registers[1].scale", ["positive"]),
    ("unit of another quantity", edited('unit = "V"', 'unit = "kWh"'), "$.modbus.registers[1].unit", ["'V'"]),
    (
        "mapped twice",
        edited('"voltage_v"', '"energy_import_wh"'),
        "$.modbus.registers[1].measurement",
        ["mapped twice"],
    ),
    ("overlap", edited("0x0002", "0x0001"), "$.modbus.registers[1].address", ["overlaps energy_import_wh"]),
    (
        "relay as a register",
        edited('"voltage_v"', '"relay_closed"'),
        "$.modbus.registers[1].measurement",
        ["[modbus.relay]"],
    ),
    (
        "wider than a request",
        edited("max_registers_per_request = 10", "max_registers_per_request = 1"),
        "$.modbus.registers[0].type",
        ["max_registers_per_request"],
    ),
    (
        "more than Modbus allows",
        edited("max_registers_per_request = 10", "max_registers_per_request = 126"),
        "$.modbus.max_registers_per_request",
        ["<= 125"],
    ),
    (
        "billed from the wrong register",
        edited('measurement = "energy_import_wh"\n\n', 'measurement = "energy_total_wh"\n\n'),
        "$.billing.measurement",
        ["billed from energy_import_wh"],
    ),
    (
        "billing register not mapped",
        edited('"energy_import_wh"\ntable', '"energy_total_wh"\ntable'),
        "$.billing.measurement",
        ["energy_import_wh is not in [[modbus.registers]]"],
    ),
    (
        "float32 billing register without a resolution",
        edited('type = "uint32"', 'type = "float32"'),
        "$.billing.resolution",
        ["no fixed step", "energy_import_wh"],
    ),
    (
        "resolution declared for an integer register",
        edited("[modbus]", 'resolution = "1"\n\n[modbus]'),
        "$.billing.resolution",
        ["10 base units", "leave resolution out"],
    ),
    (
        "rollover between steps",
        edited("[modbus]", 'declared_maximum = "99999995"\n\n[modbus]'),
        "$.billing.declared_maximum",
        ["whole number of resolution steps (10)"],
    ),
    (
        "rollover as a float",
        edited("[modbus]", "declared_maximum = 99999.99\n\n[modbus]"),
        "$.billing.declared_maximum",
        ["got `float`", "decimal strings"],
    ),
    (
        "relay that cannot be read",
        VALID_PROFILE
        + "\n[modbus.relay]\naddress = 0x1A\nwrite_function = 0x10\nclosed_value = 1\nopen_value = 1\n"
        + 'state_table = "holding"\nstate_address = 0x1A\n',
        "$.modbus.relay.open_value",
        ["must differ"],
    ),
    (
        "relay written with a coil function",
        VALID_PROFILE
        + "\n[modbus.relay]\naddress = 0x1A\nwrite_function = 0x05\nclosed_value = 1\nopen_value = 0\n"
        + 'state_table = "holding"\nstate_address = 0x1A\n',
        "$.modbus.relay.write_function",
        ["5"],
    ),
]


@pytest.mark.parametrize(
    ("text", "key_path", "words"), [case[1:] for case in BAD_FILES], ids=[c[0] for c in BAD_FILES]
)
def test_bad_file_names_file_key_path_and_expectation(text: str, key_path: str, words: list[str]) -> None:
    with pytest.raises(ProfileFileError) as caught:
        parse_profile(text, SOURCE)
    error = caught.value
    assert (error.source, error.key_path) == (SOURCE, key_path)
    message = str(error)
    assert message.startswith(f"{SOURCE}: at {key_path}: ")
    for word in words:
        assert word in message


def test_toml_syntax_error_names_the_file_and_line() -> None:
    with pytest.raises(ProfileFileError) as caught:
        parse_profile(VALID_PROFILE + "\n[[[\n", SOURCE)
    assert str(caught.value).startswith(f"{SOURCE}: not valid TOML")
    assert "line" in str(caught.value)


def test_profile_errors_belong_to_the_package_hierarchy() -> None:
    with pytest.raises(FirmwareProfileError):
        parse_profile("", SOURCE)


def test_declared_maximum_is_kept_exactly() -> None:
    text = edited("[modbus]", 'declared_maximum = "9999999990"\n\n[modbus]')
    assert parse_profile(text, SOURCE).billing.declared_maximum == Decimal("9999999990")


def test_integer_billing_register_steps_by_scale_times_unit() -> None:
    assert str(parse_profile(VALID_PROFILE, SOURCE).billing.resolution) == "10"


def test_float32_billing_register_takes_its_declared_resolution() -> None:
    text = edited('type = "uint32"', 'type = "float32"')
    text = edited("[modbus]", 'resolution = "0.5"\n\n[modbus]', text)
    assert parse_profile(text, SOURCE).billing.resolution == Decimal("0.5")

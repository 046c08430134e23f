"""Small profile files for tests, and a way to break them one key at a time."""

VALID_PROFILE = """\
model_id = "acme-test-1"
manufacturer = "Acme"
model = "Test 1"
utility = "electricity"
transport = "modbus"

[billing]
measurement = "energy_import_wh"

[modbus]
line = { baud = 9600, parity = "none", stop_bits = 1 }
request_spacing_ms = 50
response_timeout_ms = 500
max_registers_per_request = 10

[[modbus.registers]]
measurement = "energy_import_wh"
table = "holding"
address = 0x0000
type = "uint32"
scale = "0.01"
unit = "kWh"

[[modbus.registers]]
measurement = "voltage_v"
table = "holding"
address = 0x0002
type = "uint16"
scale = "0.1"
unit = "V"
"""


def edited(old: str, new: str, text: str = VALID_PROFILE) -> str:
    """``text`` with ``old`` replaced by ``new``; fails loudly if ``old`` is not there."""
    assert old in text, f"test setup: {old!r} not in the profile text"
    return text.replace(old, new, 1)

"""Planning reads, decoding answers and switching relays, on small profiles built for the test."""

from decimal import Decimal

import pytest

from firmware_profiles import (
    DecodeError,
    Profile,
    RelayCommand,
    UnsupportedMeasurementError,
    decode_read,
    decode_relay_state,
    encode_relay_command,
    packaged_registry,
    parse_profile,
    plan_reads,
    relay_state_read,
)
from shared.quantities import Measurement
from tests.unit.firmware_profiles.profile_texts import VALID_PROFILE, edited

EXTRA_REGISTERS = """
[[modbus.registers]]
measurement = "power_w"
table = "holding"
address = 0x0006
type = "int32"
unit = "kW"
scale = "0.001"

[[modbus.registers]]
measurement = "frequency_hz"
table = "input"
address = 0x0003
type = "int16"
unit = "Hz"
scale = "0.01"
"""


def _profile(text: str = VALID_PROFILE + EXTRA_REGISTERS) -> Profile:
    return parse_profile(text, "test.toml")


def test_reads_are_grouped_per_table_and_split_at_gaps() -> None:
    reads = plan_reads(_profile())
    shape = [(read.function_code, read.address, read.count) for read in reads]
    # input 0x03; holding 0x00–0x02 contiguous; 0x06 after a three-register gap.
    assert shape == [(0x04, 0x0003, 1), (0x03, 0x0000, 3), (0x03, 0x0006, 2)]


def test_small_gaps_are_bridged_when_the_profile_allows_it() -> None:
    text = edited("max_registers_per_request = 10", "max_registers_per_request = 10\nmax_gap_registers = 3")
    reads = plan_reads(_profile(text + EXTRA_REGISTERS))
    holding = [read for read in reads if read.function_code == 0x03]
    assert [(read.address, read.count) for read in holding] == [(0x0000, 8)]
    values = decode_read(holding[0], [0, 12345, 2301, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFC18])
    assert values == {
        Measurement.ENERGY_IMPORT_WH: Decimal("123450"),
        Measurement.VOLTAGE_V: Decimal("230.1"),
        Measurement.POWER_W: Decimal("-1000"),
    }


def test_reads_never_exceed_the_request_limit() -> None:
    text = edited("max_registers_per_request = 10", "max_registers_per_request = 2")
    reads = plan_reads(_profile(text + EXTRA_REGISTERS))
    assert all(read.count <= 2 for read in reads)
    assert [(read.address, read.count) for read in reads if read.function_code == 0x03] == [
        (0, 2),
        (2, 1),
        (6, 2),
    ]


def test_signed_registers_decode_negative_values() -> None:
    (read,) = plan_reads(_profile(), [Measurement.FREQUENCY_HZ])
    assert decode_read(read, [0xFFFE]) == {Measurement.FREQUENCY_HZ: Decimal("-0.02")}


def test_asking_for_a_measurement_the_meter_lacks_names_what_it_has() -> None:
    sdm120 = packaged_registry().get("eastron-sdm120")
    with pytest.raises(UnsupportedMeasurementError) as caught:
        plan_reads(sdm120, [Measurement.VOLTAGE_L2_V])
    assert "eastron-sdm120 does not measure voltage_l2_v" in str(caught.value)
    assert "energy_import_wh" in str(caught.value)


def test_wrong_register_count_names_model_measurement_and_address() -> None:
    (read,) = plan_reads(packaged_registry().get("eastron-sdm120"), [Measurement.ENERGY_IMPORT_WH])
    with pytest.raises(DecodeError) as caught:
        decode_read(read, [17562])
    message = str(caught.value)
    assert "eastron-sdm120: energy_import_wh at input register 0x0048" in message
    assert "expected 2 registers" in message


@pytest.mark.parametrize(
    ("words", "why"),
    [
        ([0x7FC0, 0x0000], "nan"),
        ([0x7F80, 0x0000], "inf"),
        ([0xFF80, 0x0000], "-inf"),
        ([70000, 0], "16-bit"),
    ],
)
def test_registers_that_hold_no_number_are_refused(words: list[int], why: str) -> None:
    (read,) = plan_reads(packaged_registry().get("eastron-sdm120"), [Measurement.ENERGY_IMPORT_WH])
    with pytest.raises(DecodeError) as caught:
        decode_read(read, words)
    assert "eastron-sdm120: energy_import_wh at input register 0x0048" in str(caught.value)
    assert why in str(caught.value)


def test_negative_zero_reads_as_zero() -> None:
    (read,) = plan_reads(packaged_registry().get("eastron-sdm120"), [Measurement.ENERGY_EXPORT_WH])
    assert str(decode_read(read, [0x8000, 0x0000])[Measurement.ENERGY_EXPORT_WH]) == "0"


def test_dds238_relay_is_switched_with_write_multiple_registers() -> None:
    dds = packaged_registry().get("hiking-dds238-2")
    assert encode_relay_command(dds, closed=True) == RelayCommand(
        function_code=0x10, address=0x001A, values=(1,)
    )
    assert encode_relay_command(dds, closed=False) == RelayCommand(
        function_code=0x10, address=0x001A, values=(0,)
    )


def test_dds238_relay_state_is_read_back_from_its_register() -> None:
    dds = packaged_registry().get("hiking-dds238-2")
    read = relay_state_read(dds)
    assert (read.function_code, read.address, read.count) == (0x03, 0x001A, 1)
    assert decode_relay_state(dds, [1]) is True
    assert decode_relay_state(dds, [0]) is False


@pytest.mark.parametrize(("registers", "why"), [([2], "neither closed (1) nor open (0)"), ([], "expected 1")])
def test_an_unclear_relay_state_is_an_error_not_a_guess(registers: list[int], why: str) -> None:
    dds = packaged_registry().get("hiking-dds238-2")
    with pytest.raises(DecodeError) as caught:
        decode_relay_state(dds, registers)
    assert "hiking-dds238-2: relay state at holding register 0x001A" in str(caught.value)
    assert why in str(caught.value)


def test_a_meter_without_a_relay_says_so() -> None:
    sdm120 = packaged_registry().get("eastron-sdm120")
    with pytest.raises(UnsupportedMeasurementError, match="eastron-sdm120 has no relay"):
        encode_relay_command(sdm120, closed=False)
    with pytest.raises(UnsupportedMeasurementError):
        relay_state_read(sdm120)

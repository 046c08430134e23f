"""Decoding checked against register words published by others (refdata/modbus)."""

import json
from decimal import Decimal

import pytest

from firmware_profiles import decode_read, decode_relay_state, packaged_registry, plan_reads
from shared.quantities import Measurement
from tests.support.paths import REFDATA

VECTORS = json.loads((REFDATA / "modbus" / "sdm_register_vectors.json").read_text(encoding="utf-8"))

# refdata key → the measurement it is, and the factor from the vendor's unit into ours.
SDM_KEYS = {
    "0x0000 Voltage V": (Measurement.VOLTAGE_V, 1),
    "0x0006 Current A": (Measurement.CURRENT_A, 1),
    "0x000C Active power W": (Measurement.POWER_W, 1),
    "0x0012 Apparent power VA": (Measurement.APPARENT_POWER_VA, 1),
    "0x0018 Reactive power VAr": (Measurement.REACTIVE_POWER_VAR, 1),
    "0x001E Power factor": (Measurement.POWER_FACTOR, 1),
    "0x0046 Frequency Hz": (Measurement.FREQUENCY_HZ, 1),
    "0x0048 Import kWh": (Measurement.ENERGY_IMPORT_WH, 1000),
    "0x004A Export kWh": (Measurement.ENERGY_EXPORT_WH, 1000),
    "0x0156 Total kWh": (Measurement.ENERGY_TOTAL_WH, 1000),
}


def _decode_one(model_id: str, measurement: Measurement, words: list[int]) -> Decimal:
    (read,) = plan_reads(packaged_registry().get(model_id), [measurement])
    return decode_read(read, words)[measurement]


@pytest.mark.parametrize("key", sorted(VECTORS["sdm120_input_registers"]))
def test_sdm120_vector_decodes_to_the_published_value_in_our_units(key: str) -> None:
    published, words = VECTORS["sdm120_input_registers"][key]
    measurement, factor = SDM_KEYS[key]
    profile = packaged_registry().get("eastron-sdm120")
    assert profile.fields[measurement].address == int(key.split(maxsplit=1)[0], 16)
    # repr() of the JSON number is the decimal the vendor's tool printed: 0.97 must stay 0.97.
    assert _decode_one("eastron-sdm120", measurement, words) == Decimal(repr(published)) * factor


def test_sdm120_power_factor_is_exactly_the_decimal_the_meter_shows() -> None:
    words = VECTORS["sdm120_input_registers"]["0x001E Power factor"][1]
    assert str(_decode_one("eastron-sdm120", Measurement.POWER_FACTOR, words)) == "0.97"


def test_sdm120_import_energy_is_whole_watt_hours() -> None:
    words = VECTORS["sdm120_input_registers"]["0x0048 Import kWh"][1]
    assert str(_decode_one("eastron-sdm120", Measurement.ENERGY_IMPORT_WH, words)) == "1234500"


@pytest.mark.parametrize("key", ["0x0048 Import kWh", "0x004A Export kWh", "0x0156 Total kWh"])
def test_sdm630_shares_the_sdm120_energy_registers(key: str) -> None:
    _, words = VECTORS["sdm120_input_registers"][key]
    measurement, _ = SDM_KEYS[key]
    assert _decode_one("eastron-sdm630", measurement, words) == _decode_one(
        "eastron-sdm120", measurement, words
    )


DDS_DUMP = VECTORS["dds238_2_zn_s_holding_dump_dzlabing"]

# The caveat in the refdata file: import is registers 0x0A–0x0B (47.33 kWh), not the 23.99 the
# upstream README printed; reactive power 65534 is -2 as int16.
DDS_EXPECTED = {
    Measurement.ENERGY_TOTAL_WH: Decimal("71330"),
    Measurement.ENERGY_IMPORT_WH: Decimal("47330"),
    Measurement.ENERGY_EXPORT_WH: Decimal("23990"),
    Measurement.VOLTAGE_V: Decimal("230.6"),
    Measurement.CURRENT_A: Decimal("0.62"),
    Measurement.POWER_W: Decimal("132"),
    Measurement.REACTIVE_POWER_VAR: Decimal("-2"),
    Measurement.POWER_FACTOR: Decimal("0.917"),
    Measurement.FREQUENCY_HZ: Decimal("49.99"),
}


def _decode_dump(wanted: list[Measurement] | None = None) -> dict[Measurement, Decimal]:
    dump = DDS_DUMP["regs_0x00_to_0x1A"]
    values: dict[Measurement, Decimal] = {}
    for read in plan_reads(packaged_registry().get("hiking-dds238-2"), wanted):
        values |= decode_read(read, dump[read.address : read.address + read.count])
    return values


def test_dds238_dump_decodes_to_the_published_values() -> None:
    assert _decode_dump() == DDS_EXPECTED


def test_dds238_dump_agrees_with_the_refdata_decoding() -> None:
    published = DDS_DUMP["decoded_by_register_map"]
    values = _decode_dump()
    assert values[Measurement.ENERGY_TOTAL_WH] == Decimal(repr(published["total_kWh"])) * 1000
    assert values[Measurement.ENERGY_IMPORT_WH] == Decimal(repr(published["import_kWh"])) * 1000
    assert values[Measurement.ENERGY_EXPORT_WH] == Decimal(repr(published["export_kWh"])) * 1000
    assert values[Measurement.REACTIVE_POWER_VAR] == published["reactive_power_VAr_as_int16"]


def test_dds238_billing_read_alone_decodes_import() -> None:
    assert _decode_dump([Measurement.ENERGY_IMPORT_WH]) == {Measurement.ENERGY_IMPORT_WH: Decimal("47330")}


def test_dds238_dump_shows_the_relay_open() -> None:
    dump = DDS_DUMP["regs_0x00_to_0x1A"]
    assert DDS_DUMP["decoded_by_register_map"]["relay_0x1A"] == 0
    assert decode_relay_state(packaged_registry().get("hiking-dds238-2"), [dump[0x1A]]) is False

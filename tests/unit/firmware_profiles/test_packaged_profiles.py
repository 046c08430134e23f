"""Every packaged Modbus profile loads, and says what the gateway needs to poll and bill the meter.

Frame-sending meters (LoRaWAN, NB-IoT, wM-Bus) are covered by ``test_payload_profiles.py``.
"""

from decimal import Decimal

import pytest

from firmware_profiles import (
    ProfileRegistry,
    Transport,
    load_packaged_profiles,
    packaged_registry,
    plan_reads,
)
from shared.metering import RegisterSpec
from shared.quantities import BILLING_REGISTER, Measurement, Utility

# Home Assistant style: one row per model, what a user of that meter would expect.
EXPECTED = {
    "eastron-sdm120": {
        "manufacturer": "Eastron",
        "line": (9600, "even", 1),
        "function_code": 0x04,
        "has_relay": False,
        "resolution_wh": Decimal(1),
        "measurements": {
            Measurement.VOLTAGE_V,
            Measurement.CURRENT_A,
            Measurement.POWER_W,
            Measurement.APPARENT_POWER_VA,
            Measurement.REACTIVE_POWER_VAR,
            Measurement.POWER_FACTOR,
            Measurement.FREQUENCY_HZ,
            Measurement.ENERGY_IMPORT_WH,
            Measurement.ENERGY_EXPORT_WH,
            Measurement.ENERGY_TOTAL_WH,
        },
    },
    "eastron-sdm630": {
        "manufacturer": "Eastron",
        "line": (9600, "even", 1),
        "function_code": 0x04,
        "has_relay": False,
        "resolution_wh": Decimal("2.5"),
        "measurements": {
            Measurement.VOLTAGE_L1_V,
            Measurement.VOLTAGE_L2_V,
            Measurement.VOLTAGE_L3_V,
            Measurement.CURRENT_L1_A,
            Measurement.CURRENT_L2_A,
            Measurement.CURRENT_L3_A,
            Measurement.POWER_W,
            Measurement.FREQUENCY_HZ,
            Measurement.ENERGY_IMPORT_WH,
            Measurement.ENERGY_EXPORT_WH,
            Measurement.ENERGY_TOTAL_WH,
        },
    },
    "hiking-dds238-2": {
        "manufacturer": "Hiking",
        "line": (9600, "none", 1),
        "function_code": 0x03,
        "has_relay": True,
        "resolution_wh": Decimal(10),
        "measurements": {
            Measurement.ENERGY_TOTAL_WH,
            Measurement.ENERGY_EXPORT_WH,
            Measurement.ENERGY_IMPORT_WH,
            Measurement.VOLTAGE_V,
            Measurement.CURRENT_A,
            Measurement.POWER_W,
            Measurement.REACTIVE_POWER_VAR,
            Measurement.POWER_FACTOR,
            Measurement.FREQUENCY_HZ,
        },
    },
}


def _modbus_ids(profiles: object) -> tuple[str, ...]:
    return tuple(p.model_id for p in profiles if p.transport is Transport.MODBUS)  # type: ignore[attr-defined]


def test_the_packaged_registry_holds_exactly_the_documented_modbus_models() -> None:
    assert _modbus_ids(packaged_registry()) == tuple(sorted(EXPECTED))


def test_each_packaged_file_is_named_after_its_model_id() -> None:
    for profile in load_packaged_profiles():
        file_stem = profile.source.rsplit("/", 1)[-1].removesuffix(".toml")
        assert file_stem.replace("_", "-") == profile.model_id


@pytest.mark.parametrize("model_id", sorted(EXPECTED))
def test_profile_matches_the_meter(model_id: str) -> None:
    expected = EXPECTED[model_id]
    profile = packaged_registry().get(model_id)
    line = profile.modbus.line
    assert profile.manufacturer == expected["manufacturer"]
    assert (line.baud, line.parity, line.stop_bits) == expected["line"]
    assert profile.has_relay is expected["has_relay"]
    assert set(profile.measurements) == expected["measurements"]
    assert {read.function_code for read in plan_reads(profile)} == {expected["function_code"]}


@pytest.mark.parametrize("model_id", sorted(EXPECTED))
def test_profile_is_billable_and_polite_on_the_bus(model_id: str) -> None:
    profile = packaged_registry().get(model_id)
    assert profile.utility is Utility.ELECTRICITY
    assert profile.billing.measurement is BILLING_REGISTER[profile.utility]
    assert profile.billing.measurement in profile.measurements
    assert profile.billing.resolution == EXPECTED[model_id]["resolution_wh"]
    # No packaged source states where a billing register rolls over: backwards steps are alarms.
    assert profile.billing.declared_maximum is None
    # Real meters want 30–100 ms between requests (refdata/README.md).
    assert 30 <= profile.modbus.request_spacing_ms <= 100
    assert profile.modbus.response_timeout_ms >= 100


@pytest.mark.parametrize("model_id", sorted(EXPECTED))
def test_billing_register_spec_can_be_built_from_the_profile(model_id: str) -> None:
    billing = packaged_registry().get(model_id).billing
    spec = RegisterSpec(resolution=billing.resolution, maximum=billing.declared_maximum)
    assert spec.resolution == EXPECTED[model_id]["resolution_wh"]


@pytest.mark.parametrize("model_id", sorted(EXPECTED))
def test_reading_everything_takes_few_requests_within_the_meters_limit(model_id: str) -> None:
    profile = packaged_registry().get(model_id)
    reads = plan_reads(profile)
    assert all(read.count <= profile.modbus.max_registers_per_request for read in reads)
    assert sum(len(read.fields) for read in reads) == len(profile.measurements)
    assert len(reads) < len(profile.measurements)


def test_billing_only_plan_for_an_sdm120_is_one_two_register_read() -> None:
    profile = packaged_registry().get("eastron-sdm120")
    (read,) = plan_reads(profile, [Measurement.ENERGY_IMPORT_WH])
    assert (read.function_code, read.address, read.count) == (0x04, 0x0048, 2)


def test_a_registry_can_be_rebuilt_from_the_packaged_profiles() -> None:
    registry = ProfileRegistry(load_packaged_profiles())
    assert len(registry) == len(packaged_registry())
    assert "eastron-sdm120" in registry
    assert registry.get("hiking-dds238-2").billing.declared_maximum is None
    assert list(_modbus_ids(registry)) == sorted(EXPECTED)

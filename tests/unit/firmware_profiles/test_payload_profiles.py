"""Packaged LoRaWAN, NB-IoT and wM-Bus profiles: what the gateway's bridges rely on."""

from __future__ import annotations

from decimal import Decimal

import pytest

from firmware_profiles import (
    Billing,
    DecodeOptions,
    Downlink,
    InvalidOptionError,
    Transport,
    UnsupportedMeasurementError,
    WrongTransportError,
    decode_uplink,
    encode_relay_downlink,
    packaged_registry,
    plan_reads,
    pulse_billing,
)
from shared.metering import RegisterSpec
from shared.quantities import BILLING_REGISTER, Measurement, Utility

# One row per model: transport, uplink ports, billing, pulses, relay downlinks (closed, open).
EXPECTED = {
    "milesight-em300-di": (Transport.LORAWAN, {85}, Utility.WATER, Measurement.VOLUME_L, None),
    "milesight-ws52x": (
        Transport.LORAWAN,
        {85},
        Utility.ELECTRICITY,
        None,
        (Downlink(85, bytes.fromhex("080100FF")), Downlink(85, bytes.fromhex("080000FF"))),
    ),
    "dragino-lt22222-l": (
        Transport.LORAWAN,
        {2},
        Utility.ELECTRICITY,
        Measurement.ENERGY_IMPORT_WH,
        (Downlink(1, bytes.fromhex("030111")), Downlink(1, bytes.fromhex("030011"))),
    ),
    "axioma-qalcosonic-w1": (Transport.LORAWAN, {100}, Utility.WATER, None, None),
    "adeunis-pulse": (Transport.LORAWAN, {1}, Utility.WATER, Measurement.VOLUME_L, None),
    "adeunis-pulse-nbiot": (Transport.NBIOT, set(), Utility.WATER, Measurement.VOLUME_L, None),
    "kamstrup-multical-21": (Transport.WMBUS, set(), Utility.WATER, None, None),
}


def test_the_packaged_registry_holds_exactly_these_frame_sending_models() -> None:
    ids = tuple(p.model_id for p in packaged_registry() if p.transport is not Transport.MODBUS)
    assert ids == tuple(sorted(EXPECTED))


@pytest.mark.parametrize("model_id", sorted(EXPECTED))
def test_profile_is_billable_from_what_its_codec_yields(model_id: str) -> None:
    transport, ports, utility, pulses_become, _ = EXPECTED[model_id]
    profile = packaged_registry().get(model_id)
    assert (profile.transport, set(profile.codec.f_ports), profile.utility) == (transport, ports, utility)
    assert profile.billing.measurement is BILLING_REGISTER[utility]
    assert profile.billing.measurement in profile.measurements
    assert profile.codec.pulses_become is pulses_become
    assert profile.billing.declared_maximum is None  # no source states a wrap
    RegisterSpec(resolution=profile.billing.resolution, maximum=profile.billing.declared_maximum)


@pytest.mark.parametrize("model_id", sorted(EXPECTED))
def test_relay_downlinks_are_the_vendors_commands(model_id: str) -> None:
    downlinks = EXPECTED[model_id][4]
    profile = packaged_registry().get(model_id)
    assert profile.has_relay is (downlinks is not None)
    if downlinks is None:
        with pytest.raises(UnsupportedMeasurementError, match="no relay"):
            encode_relay_downlink(profile, closed=True)
        return
    assert (
        encode_relay_downlink(profile, closed=True),
        encode_relay_downlink(profile, closed=False),
    ) == downlinks


def test_a_relay_is_confirmed_only_by_a_later_uplink_reporting_it() -> None:
    profile = packaged_registry().get("milesight-ws52x")
    assert decode_uplink(profile, 85, bytes.fromhex("0374ed08")).relay_closed is None
    assert decode_uplink(profile, 85, bytes.fromhex("087000")).relay_closed is False
    assert decode_uplink(profile, 85, bytes.fromhex("087001")).relay_closed is True


def test_lt22222_counting_mode_bills_pulses_times_the_meters_weight() -> None:
    profile = packaged_registry().get("dragino-lt22222-l")
    # Mode 2 (count mode 1): COUNT1 = 1000 pulses, RO1 open, RO2 closed.
    payload = bytes.fromhex("000003E800000005400042")
    decoded = decode_uplink(profile, 2, payload, options=DecodeOptions(pulse_weight=Decimal("0.5")))
    assert decoded.measurements == {Measurement.PULSE_COUNT: 1000, Measurement.ENERGY_IMPORT_WH: 500}
    assert decoded.relay_states == {"RO1": False, "RO2": True}
    assert decoded.relay_closed is False


def test_pulse_billing_scales_the_register_step_by_the_pulse_weight() -> None:
    profile = packaged_registry().get("milesight-em300-di")
    billing = pulse_billing(profile, Decimal(10))
    assert billing == Billing(measurement=Measurement.VOLUME_L, resolution=Decimal(10), declared_maximum=None)
    with pytest.raises(UnsupportedMeasurementError, match="not a pulse counter"):
        pulse_billing(packaged_registry().get("axioma-qalcosonic-w1"), Decimal(10))
    with pytest.raises(InvalidOptionError, match="pulse_weight"):
        pulse_billing(profile, Decimal(0))


@pytest.mark.parametrize(
    "options",
    [
        {"pulse_weight": Decimal(0)},
        {"pulse_weight": Decimal("NaN")},
        {"pulse_weight": 1.5},
        {"history_period_s": 0},
    ],
    ids=str,
)
def test_impossible_options_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(InvalidOptionError):
        DecodeOptions(**options)  # type: ignore[arg-type]


def test_a_pulse_input_the_device_lacks_is_refused() -> None:
    profile = packaged_registry().get("adeunis-pulse")
    with pytest.raises(InvalidOptionError, match="'C' does not exist; inputs: A, B"):
        decode_uplink(profile, 1, bytes.fromhex("4600"), options=DecodeOptions(pulse_input="C"))


def test_transports_do_not_mix() -> None:
    sdm120 = packaged_registry().get("eastron-sdm120")
    ws52x = packaged_registry().get("milesight-ws52x")
    with pytest.raises(WrongTransportError, match="sends no payloads"):
        decode_uplink(sdm120, 1, b"\x00")
    with pytest.raises(WrongTransportError, match="has no Modbus map"):
        _ = ws52x.modbus
    assert ws52x.fields == {}


def test_a_frame_sending_meter_has_no_modbus_reads() -> None:
    ws52x = packaged_registry().get("milesight-ws52x")
    assert plan_reads(ws52x) == ()
    with pytest.raises(WrongTransportError, match="no registers to read"):
        plan_reads(ws52x, [Measurement.VOLTAGE_V])

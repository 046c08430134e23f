"""Arbitrary bytes on arbitrary fPorts never crash a payload codec, and never become garbage.

Whatever a radio delivers, ``decode_uplink`` either raises ``DecodeError`` (the gateway journals a
``decode_error`` alarm) or returns values the profile promises: finite, cumulative registers never
negative, history in time order. Mutations of the vendors' own examples reach the deep paths that
random bytes rarely do. Round trips check the codecs against frames built from chosen values.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_profiles import (
    DecodedUplink,
    DecodeError,
    DecodeOptions,
    Profile,
    Transport,
    decode_uplink,
    packaged_registry,
)
from shared.quantities import Measurement

PROFILES = [p for p in packaged_registry() if p.transport is not Transport.MODBUS]
CUMULATIVE = {Measurement.PULSE_COUNT, Measurement.VOLUME_L, Measurement.ENERGY_IMPORT_WH}

#: One published example per model (see tests/unit/firmware_profiles/test_payload_vendor_vectors.py).
SEEDS = {
    "milesight-em300-di": (85, "01755c05c800010000"),
    "milesight-ws52x": (85, "08700105816407c902000374b208068301000000048001000000"),
    "dragino-lt22222-l": (2, "04ab04ac13101300aaff01"),
    "axioma-qalcosonic-w1": (
        100,
        "01aeac986a003217000000000000000000008003800054000e4005100048000240020000200000000000000000000000000000",
    ),
    "adeunis-pulse": (1, "5a6700000127000100020003000414aba3e9"),
    "adeunis-pulse-nbiot": (None, "112233445566778803000000265a6700000127000100020003000414aba3e9"),
    "kamstrup-multical-21": (
        None,
        "2A442D2C998734761B168D2091D37CAC21576C7802FF207100041308190000441308190000615B7F616713",
    ),
}
OPTIONS = st.builds(
    DecodeOptions,
    pulse_weight=st.none() | st.decimals(min_value=Decimal("0.001"), max_value=Decimal(1000), places=3),
    history_period_s=st.none() | st.integers(min_value=1, max_value=86_400),
)


def _check(profile: Profile, decoded: DecodedUplink) -> None:
    assert decoded.model_id == profile.model_id
    assert set(decoded.measurements) <= set(profile.measurements)
    for measurement, value in decoded.measurements.items():
        assert isinstance(value, Decimal) and value.is_finite()
        if measurement in CUMULATIVE:
            assert value >= 0
    assert decoded.relay_closed in (None, True, False)
    times = [point.at_unix_s for point in decoded.history]
    assert times == sorted(times)
    assert all(point.value.is_finite() and point.value >= 0 for point in decoded.history)


def _decode_or_refuse(profile: Profile, f_port: int | None, payload: bytes, options: DecodeOptions) -> None:
    try:
        decoded = decode_uplink(profile, f_port, payload, options=options)
    except DecodeError as error:
        message = str(error)
        # Model and port always; a byte offset whenever the payload itself was at fault.
        assert message.startswith(f"{profile.model_id}: fPort {f_port}: ") or message.startswith(
            f"{profile.model_id}: no fPort: "
        )
        return
    _check(profile, decoded)


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.model_id)
@given(
    payload=st.binary(max_size=300),
    f_port=st.none() | st.integers(min_value=0, max_value=255),
    options=OPTIONS,
)
def test_arbitrary_bytes_and_ports_never_crash(
    profile: Profile, payload: bytes, f_port: int | None, options: DecodeOptions
) -> None:
    _decode_or_refuse(profile, f_port, payload, options)


@st.composite
def _mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    raw = bytearray(seed)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        action = draw(st.sampled_from(["flip", "cut", "grow", "set"]))
        index = draw(st.integers(min_value=0, max_value=max(len(raw) - 1, 0)))
        if action == "flip" and raw:
            raw[index] ^= 1 << draw(st.integers(min_value=0, max_value=7))
        elif action == "cut":
            del raw[index:]
        elif action == "grow":
            raw += draw(st.binary(min_size=1, max_size=8))
        elif raw:
            raw[index] = draw(st.integers(min_value=0, max_value=255))
    return bytes(raw)


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.model_id)
@given(data=st.data(), options=OPTIONS)
def test_mutated_vendor_examples_never_crash(
    profile: Profile, data: st.DataObject, options: DecodeOptions
) -> None:
    f_port, seed = SEEDS[profile.model_id]
    payload = data.draw(_mutated(bytes.fromhex(seed)))
    _decode_or_refuse(profile, f_port, payload, options)


def test_every_frame_sending_profile_has_a_seed() -> None:
    assert set(SEEDS) == {p.model_id for p in PROFILES}


@given(
    voltage_dv=st.integers(min_value=0, max_value=0xFFFF),
    energy_wh=st.integers(min_value=0, max_value=0xFFFF_FFFF),
    on=st.booleans(),
    order=st.permutations([0, 1, 2]),
)
def test_milesight_round_trip(voltage_dv: int, energy_wh: int, on: bool, order: list[int]) -> None:
    entries = [
        b"\x03\x74" + voltage_dv.to_bytes(2, "little"),
        b"\x06\x83" + energy_wh.to_bytes(4, "little"),
        b"\x08\x70" + bytes([on]),
    ]
    payload = b"".join(entries[i] for i in order)
    decoded = decode_uplink(packaged_registry().get("milesight-ws52x"), 85, payload)
    assert decoded.measurements == {
        Measurement.VOLTAGE_V: Decimal(voltage_dv) / 10,
        Measurement.ENERGY_IMPORT_WH: Decimal(energy_wh),
    }
    assert decoded.relay_closed is on


@given(
    meter_time=st.integers(min_value=86_400, max_value=0xFFFF_FFFF),
    log_litres=st.integers(min_value=0, max_value=0xFFFF_FFFF),
    deltas=st.lists(st.integers(min_value=0, max_value=0x3FFF), min_size=23, max_size=23),
)
def test_qalcosonic_w1_round_trip(meter_time: int, log_litres: int, deltas: list[int]) -> None:
    packed = sum(delta << (14 * i) for i, delta in enumerate(deltas))
    payload = (
        b"\x01" + meter_time.to_bytes(4, "little") + b"\x00" + log_litres.to_bytes(4, "little")
    ) + packed.to_bytes(41, "little")
    decoded = decode_uplink(packaged_registry().get("axioma-qalcosonic-w1"), 100, payload)
    assert decoded.measurements == {Measurement.VOLUME_L: Decimal(log_litres + sum(deltas))}
    assert [p.value for p in decoded.history][1:] == [
        Decimal(log_litres + sum(deltas[: i + 1])) for i in range(len(deltas))
    ]
    assert decoded.history[-1].at_unix_s == meter_time - meter_time % 3600


@given(
    count_a=st.integers(min_value=0, max_value=0xFFFF_FFFF),
    count_b=st.integers(min_value=0, max_value=0xFFFF_FFFF),
    input_name=st.sampled_from(["A", "B"]),
    weight=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100), places=2),
)
def test_adeunis_counters_round_trip(count_a: int, count_b: int, input_name: str, weight: Decimal) -> None:
    payload = b"\x46\x00" + count_a.to_bytes(4, "big") + count_b.to_bytes(4, "big")
    options = DecodeOptions(pulse_weight=weight, pulse_input=input_name)
    decoded = decode_uplink(packaged_registry().get("adeunis-pulse"), 1, payload, options=options)
    count = count_a if input_name == "A" else count_b
    assert decoded.measurements[Measurement.PULSE_COUNT] == count
    assert decoded.measurements[Measurement.VOLUME_L] == count * weight

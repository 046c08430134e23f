"""The demo's radio meters send frames the gateway's codecs read back as the meter's own volumes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from demo.radio.frames import adeunis_pulse_nbiot_frame, qalcosonic_w1_frame
from demo.radio.water import WaterMeter, whole_hour
from demo.simulator.model import LoadShape
from firmware_profiles import DecodeOptions, decode_uplink, packaged_registry
from shared.quantities import Measurement

AT = datetime(2026, 11, 22, 17, 40, 12, tzinfo=UTC)


def test_the_published_w1_example_is_what_the_encoder_makes_of_its_volumes() -> None:
    # TheThingsNetwork's example (tests/fixtures/vendor_vectors/axioma_qalcosonic_w1.json):
    # 5.938 m³ logged, then these hourly deltas in litres.
    deltas = [0, 0, 0, 0, 0, 14, 8, 21, 14, 21, 1, 18, 2, 9, 0, 8, 0, 0, 0, 0, 0, 0, 0]
    volumes = [5938]
    for delta in deltas:
        volumes.append(volumes[-1] + delta)
    frame = qalcosonic_w1_frame(1788390574, volumes)
    expected = "01aeac986a003217000000000000000000008003800054000e4005100048000240020000200000000000000000000000000000"
    assert frame.hex() == expected


def test_a_w1_frame_of_the_simulated_meter_decodes_to_its_hourly_register() -> None:
    meter = WaterMeter(Decimal(40), LoadShape.residential(), at=AT, volume_l=Decimal(50_000))
    last_hour = whole_hour(AT)
    volumes = meter.hourly_volumes_l(last_hour, 24)
    decoded = decode_uplink(
        packaged_registry().get("axioma-qalcosonic-w1"),
        100,
        qalcosonic_w1_frame(int(AT.timestamp()), volumes),
    )
    assert decoded.measurements[Measurement.VOLUME_L] == meter.volume_l(last_hour)
    assert [(p.at_unix_s, p.value) for p in decoded.history] == [
        (int((last_hour - timedelta(hours=23 - i)).timestamp()), Decimal(v)) for i, v in enumerate(volumes)
    ]


def test_the_nbiot_pulse_frame_decodes_to_litres_at_the_meters_pulse_weight() -> None:
    frame = adeunis_pulse_nbiot_frame("356938035643809", 7, 12_345)
    decoded = decode_uplink(
        packaged_registry().get("adeunis-pulse-nbiot"),
        None,
        frame,
        options=DecodeOptions(pulse_weight=Decimal(1)),
    )
    assert decoded.measurements[Measurement.VOLUME_L] == 12_345


def test_the_water_register_never_goes_back_and_follows_the_shape() -> None:
    meter = WaterMeter(Decimal(100), LoadShape.residential(), at=AT, volume_l=Decimal(50_000))
    times = [AT + timedelta(minutes=17 * i) for i in range(-200, 200)]
    volumes = [meter.volume_l(t) for t in times]
    assert volumes == sorted(volumes)
    night = meter.volume_l(datetime(2026, 11, 23, 3, tzinfo=UTC)) - meter.volume_l(
        datetime(2026, 11, 23, 2, tzinfo=UTC)
    )
    evening = meter.volume_l(datetime(2026, 11, 23, 19, tzinfo=UTC)) - meter.volume_l(
        datetime(2026, 11, 23, 18, tzinfo=UTC)
    )
    assert (night, evening) == (25, 180)  # the residential factors at 02:00 (0.25) and 18:00 (1.8) UTC


def test_a_frame_refuses_an_hour_the_14_bit_delta_cannot_hold() -> None:
    with pytest.raises(ValueError, match="14-bit"):
        qalcosonic_w1_frame(0, [0, 20_000, *([20_000] * 22)])

"""Every payload codec against the examples its vendor (or a project decoding it) published.

The vectors live outside our code: ``../shared/refdata/lorawan/vendor_vectors.json`` (EM300-DI,
WS52x, LT-22222-L) and ``tests/fixtures/vendor_vectors/*.json`` (the rest, each with its source
and licence). Vendors name their fields in their own way and units; each test maps the vendor's
expected values onto our vocabulary.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from firmware_profiles import DecodeError, DecodeOptions, MeterAlarm, decode_uplink, packaged_registry
from shared.journal.bodies import AlarmKind
from shared.quantities import Measurement
from tests.support.paths import FIXTURES, REFDATA

REFDATA_VECTORS: list[dict[str, Any]] = json.loads(
    (REFDATA / "lorawan" / "vendor_vectors.json").read_text(encoding="utf-8")
)


def _fixture(name: str) -> list[dict[str, Any]]:
    return json.loads((FIXTURES / "vendor_vectors" / name).read_text(encoding="utf-8"))


def _payload(vector: dict[str, Any]) -> bytes:
    return bytes.fromhex(vector["bytes_hex"].replace(" ", ""))


def _decode(vector: dict[str, Any], model_id: str | None = None, **options: Any):  # type: ignore[no-untyped-def]
    profile = packaged_registry().get(model_id or vector["device"])
    return decode_uplink(profile, vector.get("fPort"), _payload(vector), options=DecodeOptions(**options))


def _m3_to_litres(value: float) -> Decimal:
    # The vendors print m³ as JSON floats; str() gives the digits they printed, exactly.
    return Decimal(str(value)) * 1000


def _refdata(device: str) -> list[dict[str, Any]]:
    return [vector for vector in REFDATA_VECTORS if vector["device"] == device]


# --- refdata/lorawan/vendor_vectors.json ---------------------------------------------------------


def test_em300_di_pulse_count_and_battery_match_the_vendor() -> None:
    (vector,) = _refdata("milesight-em300-di")
    decoded = _decode(vector)
    expected = vector["expected"]["data"]
    assert decoded.measurements == {
        Measurement.PULSE_COUNT: Decimal(expected["pulse"]),
        Measurement.BATTERY_PCT: Decimal(expected["battery"]),
    }


def test_em300_di_pulses_become_litres_with_the_meters_pulse_weight() -> None:
    (vector,) = _refdata("milesight-em300-di")
    decoded = _decode(vector, pulse_weight=Decimal("2.5"))
    assert decoded.measurements[Measurement.PULSE_COUNT] == 256
    assert decoded.measurements[Measurement.VOLUME_L] == Decimal(640)


@pytest.mark.parametrize("vector", _refdata("milesight-ws52x"), ids=lambda v: v["description"])
def test_ws52x_examples_match_the_vendor(vector: dict[str, Any]) -> None:
    decoded = _decode(vector)
    expected = vector["expected"]["data"]
    if "voltage" in expected:
        assert decoded.measurements == {Measurement.VOLTAGE_V: Decimal(str(expected["voltage"]))}
    if "energy" in expected:
        assert decoded.measurements == {Measurement.ENERGY_IMPORT_WH: Decimal(expected["energy"])}
    if "button" in expected:
        # Milesight's "open" socket is switched on: supply connected, our relay *closed*.
        assert expected["button"] == "open"
        assert decoded.measurements == {}
        assert decoded.relay_closed is True


def test_lt22222_relay_states_match_the_vendor() -> None:
    vector = next(v for v in _refdata("dragino-lt22222-l") if v["fPort"] == 2)
    decoded = _decode(vector)
    expected = vector["expected"]["data"]
    assert decoded.relay_states == {
        "RO1": expected["RO1_status"] == "ON",
        "RO2": expected["RO2_status"] == "ON",
    }
    assert decoded.relay_closed is True  # the profile switches RO1
    # Mode 1 (2ACI+2AVI) counts no pulses: nothing to bill, and nothing invented.
    assert expected["Work_mode"] == "2ACI+2AVI"
    assert decoded.measurements == {}


def test_lt22222_unknown_fport_is_an_error_as_the_vendor_says() -> None:
    vector = next(v for v in _refdata("dragino-lt22222-l") if "errors" in v["expected"])
    assert vector["expected"]["errors"] == ["unknown FPort"]
    with pytest.raises(DecodeError, match=r"dragino-lt22222-l: fPort 42: .*expected 2"):
        _decode(vector)


# --- tests/fixtures/vendor_vectors -------------------------------------------------------------


def test_ws52x_documented_periodic_report() -> None:
    vector = _fixture("milesight_docs.json")[0]
    decoded = _decode(vector)
    expected = vector["expected"]
    assert decoded.relay_closed is (expected["socket_status"] == "Open")
    assert decoded.measurements == {
        Measurement.POWER_FACTOR: Decimal(expected["power_factor_pct"]) / 100,
        Measurement.CURRENT_A: Decimal(expected["current_mA"]) / 1000,
        Measurement.VOLTAGE_V: Decimal(str(expected["voltage_V"])),
        Measurement.ENERGY_IMPORT_WH: Decimal(expected["power_consumption_Wh"]),
        Measurement.POWER_W: Decimal(expected["active_power_W"]),
    }


def test_ws52x_documented_device_information_is_understood_and_yields_no_reading() -> None:
    decoded = _decode(_fixture("milesight_docs.json")[1])
    assert decoded.measurements == {}
    assert decoded.relay_closed is None


def test_qalcosonic_w1_volume_history_and_time_match_the_vendor() -> None:
    (vector,) = _fixture("axioma_qalcosonic_w1.json")
    decoded = _decode(vector)
    expected = vector["expected"]
    assert decoded.measurements == {Measurement.VOLUME_L: _m3_to_litres(expected["current_volume_m3"])}
    assert decoded.device_time_unix_s == expected["timestamp_unix"]
    assert decoded.alarms == ()
    volumes = [point.value for point in decoded.history]
    assert volumes[0] == _m3_to_litres(expected["log_volume_m3"])
    assert [b - a for a, b in itertools.pairwise(volumes)] == [
        _m3_to_litres(delta) for delta in expected["deltas_m3"]
    ]
    assert volumes[-1] - volumes[0] == _m3_to_litres(expected["history_total_m3"])


def test_qalcosonic_w1_history_falls_on_the_days_whole_hours() -> None:
    (vector,) = _fixture("axioma_qalcosonic_w1.json")
    times = [datetime.fromtimestamp(point.at_unix_s, UTC) for point in _decode(vector).history]
    assert times[0] == datetime(2026, 9, 2, 0, 0, tzinfo=UTC)
    assert times[-1] == datetime(2026, 9, 2, 23, 0, tzinfo=UTC)
    assert len(times) == 24
    # The vendor's "current volume" (meter time 23:09:34) is the last point: the register at 23:00.
    assert _decode(vector).measured_at_unix_s == times[-1].timestamp()
    assert all(
        later.timestamp() - earlier.timestamp() == 3600 for earlier, later in itertools.pairwise(times)
    )


def _adeunis_time(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


@pytest.mark.parametrize("vector", _fixture("adeunis_pulse.json"), ids=lambda v: v["device"])
def test_adeunis_pulse_counters_and_time_match_the_vendor(vector: dict[str, Any]) -> None:
    decoded = _decode(vector)
    expected = vector["expected"]
    assert decoded.measurements == {Measurement.PULSE_COUNT: Decimal(expected["counterValues"][0])}
    assert decoded.device_time_unix_s == _adeunis_time(expected["timestamp"])
    assert [alarm.condition for alarm in decoded.alarms] == [MeterAlarm.LOW_BATTERY]
    assert decoded.history == ()  # the sample period is configuration, not in the frame


@pytest.mark.parametrize("vector", _fixture("adeunis_pulse.json"), ids=lambda v: v["device"])
def test_adeunis_history_with_the_configured_period_matches_the_vendors_counters(
    vector: dict[str, Any],
) -> None:
    decoded = _decode(vector, history_period_s=900, pulse_weight=Decimal(10))
    expected = vector["expected"]
    newest_first = list(reversed(decoded.history))
    assert [point.value for point in newest_first] == [Decimal(10 * c) for c in expected["counterValues"]]
    assert {point.measurement for point in newest_first} == {Measurement.VOLUME_L}
    assert [point.at_unix_s for point in newest_first] == [
        _adeunis_time(expected["timestamp"]) - 900 * i for i in range(len(expected["counterValues"]))
    ]


def test_adeunis_nbiot_header_identifies_the_device() -> None:
    vector = _fixture("adeunis_pulse.json")[1]
    decoded = _decode(vector)
    header = vector["expected"]["nbIot"]
    assert (decoded.device_id, decoded.frame_counter) == (header["imei"], header["globalFrameCounter"])


def test_adeunis_input_b_reads_nothing_from_a_channel_a_frame() -> None:
    decoded = _decode(_fixture("adeunis_pulse.json")[0], pulse_input="B")
    assert decoded.measurements == {}


@pytest.mark.parametrize("vector", _fixture("kamstrup_multical21.json"), ids=lambda v: v["description"])
def test_kamstrup_volume_and_info_codes_match_wmbusmeters(vector: dict[str, Any]) -> None:
    decoded = _decode(vector)
    expected = vector["expected"]
    assert decoded.measurements == {Measurement.VOLUME_L: _m3_to_litres(expected["total_m3"])}
    assert decoded.device_id == expected["id"]
    if expected["status"] == "OK":
        assert decoded.alarms == ()
    else:
        (alarm,) = decoded.alarms
        assert (alarm.condition, alarm.detail) == (MeterAlarm.DRY, f"dry for {expected['time_dry']}")
        assert alarm.kind is AlarmKind.DRY

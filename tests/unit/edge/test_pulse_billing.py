"""A pulse counter is billed in the litres or Wh its own pulse weight makes of each pulse."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from edge_agent.billing.meters import build_meter_billing
from edge_agent.config import load_config_file
from firmware_profiles import packaged_registry
from tests.support.paths import REPO_ROOT


def test_the_register_steps_by_the_meters_pulse_weight_not_by_one_pulse() -> None:
    config = load_config_file(REPO_ROOT / "examples" / "edge" / "edge.toml")
    registry = packaged_registry()
    by_id = {meter.id: meter for meter in config.meters}
    lorawan = build_meter_billing(by_id["unit-01-water"], config, registry)  # EM300-DI, 10 L a pulse
    nbiot = build_meter_billing(by_id["unit-02-water"], config, registry)  # Adeunis NB-IoT, 1 L a pulse
    assert (lorawan.register_spec.resolution, nbiot.register_spec.resolution) == (Decimal(10), Decimal(1))
    modbus = build_meter_billing(by_id["unit-01-electricity"], config, registry)
    assert modbus.register_spec.resolution == registry.get("hiking-dds238-2").billing.resolution


def test_a_pulse_counter_without_a_weight_cannot_be_billed() -> None:
    config = load_config_file(REPO_ROOT / "examples" / "edge" / "edge.toml")
    meter = dataclasses.replace(next(m for m in config.meters if m.id == "unit-01-water"), pulse_weight=None)
    with pytest.raises(
        ValueError, match="unit-01-water: milesight-em300-di counts pulses, so it needs a pulse_weight"
    ):
        build_meter_billing(meter, config, packaged_registry())

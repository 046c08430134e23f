"""What billing needs to know about each configured meter, built once at start."""

from __future__ import annotations

from functools import cache

from edge_agent.billing.decide import MeterBilling
from edge_agent.config.model import EdgeConfig, MeterConfig
from firmware_profiles import ProfileRegistry, pulse_billing
from shared.metering import RegisterSpec
from shared.metering.limits import MAX_RATE_PER_HOUR
from shared.tariffs import CompiledTariff, TariffSchedule, compile_tariff


def build_meter_billing(meter: MeterConfig, config: EdgeConfig, registry: ProfileRegistry) -> MeterBilling:
    """The register spec, compiled tariff and credit policy of one meter."""
    profile = registry.get(meter.profile)
    # A pulse counter's register counts pulses; the meter's own weight makes them litres or Wh.
    counts_pulses = profile.payload is not None and profile.payload.pulses_become is not None
    if counts_pulses and meter.pulse_weight is None:
        raise ValueError(f"meter {meter.id}: {profile.model_id} counts pulses, so it needs a pulse_weight")
    billing = (
        pulse_billing(profile, meter.pulse_weight)
        if counts_pulses and meter.pulse_weight
        else profile.billing
    )
    spec = RegisterSpec(
        resolution=billing.resolution,
        maximum=billing.declared_maximum,
        max_rate_per_h=MAX_RATE_PER_HOUR[meter.utility],
    )
    return MeterBilling(
        meter=meter,
        register_spec=spec,
        tariff=_compiled(config.tariffs[meter.utility]),
        policy=config.credit[meter.utility],
        has_relay=profile.has_relay,
    )


@cache
def _compiled(schedule: TariffSchedule) -> CompiledTariff:
    """One compiled tariff per schedule, shared by every meter on it."""
    return compile_tariff(schedule)

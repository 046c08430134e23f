"""Checking a bridge's device entries against the meters' profiles, once, at start."""

from __future__ import annotations

from decimal import Decimal

from edge_agent.adapters.frames.errors import RadioSettingsError
from edge_agent.adapters.frames.feed import RadioMeter
from firmware_profiles import DecodeOptions, FirmwareProfileError, Profile, Transport


def build_radio_meter(
    where: str,
    meter_id: str,
    profile: Profile | None,
    transport: Transport,
    *,
    pulse_weight: Decimal | None,
    pulse_input: str | None,
    history_period_s: int | None,
) -> RadioMeter:
    """The meter as a bridge decodes it; :class:`RadioSettingsError` naming ``where`` if it cannot be.

    A pulse counter without a pulse weight would journal pulses and never bill, so it is refused.
    """
    if profile is None:
        raise RadioSettingsError(f"at {where}.meter: expected the id of a configured meter, got {meter_id!r}")
    if profile.transport is not transport:
        raise RadioSettingsError(
            f"at {where}.meter: meter {meter_id}'s profile {profile.model_id} is a "
            f"{profile.transport} meter, not a {transport} one"
        )
    codec = profile.codec
    if codec.pulses_become is not None and pulse_weight is None:
        raise RadioSettingsError(
            f"at {where}.pulse_weight: expected the litres or Wh one pulse stands for, since "
            f"{profile.model_id} counts pulses; got nothing"
        )
    if pulse_input is not None and pulse_input not in codec.pulse_inputs:
        raise RadioSettingsError(
            f"at {where}.pulse_input: expected one of {', '.join(codec.pulse_inputs) or 'none'} for "
            f"{profile.model_id}, got {pulse_input!r}"
        )
    try:
        options = DecodeOptions(
            pulse_weight=pulse_weight, pulse_input=pulse_input, history_period_s=history_period_s
        )
    except FirmwareProfileError as error:
        raise RadioSettingsError(f"at {where}: {error}") from None
    return RadioMeter(meter_id, profile, options)

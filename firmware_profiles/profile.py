"""A loaded meter model: the validated profile file plus what decoding precomputes from it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from firmware_profiles.modbus.fields import RegisterField
from firmware_profiles.schema import ModbusSpec
from shared.quantities import Measurement, Utility


@dataclass(frozen=True, slots=True)
class Billing:
    """The measurement a meter is billed from, in base units (Wh or L).

    These are what ``shared.metering.RegisterSpec`` needs from the profile. ``resolution`` is the
    register's smallest step. ``declared_maximum`` is the last value the register shows before it
    rolls over to 0, when a source states one; ``None`` means unknown, so a backwards step must be
    treated as an alarm, never as a rollover.
    """

    measurement: Measurement
    resolution: Decimal
    declared_maximum: Decimal | None


@dataclass(frozen=True, slots=True)
class Profile:
    """One meter model, validated and compiled; built only by :mod:`firmware_profiles.loader`."""

    model_id: str
    manufacturer: str
    model: str
    utility: Utility
    billing: Billing
    modbus: ModbusSpec
    #: The register map keyed by measurement, in address order within each table.
    fields: Mapping[Measurement, RegisterField]
    #: Where the profile came from (a packaged file name or an installer's file), for messages.
    source: str

    @property
    def measurements(self) -> tuple[Measurement, ...]:
        """Every measurement this model's register map provides."""
        return tuple(self.fields)

    @property
    def has_relay(self) -> bool:
        """Whether the meter has a relay the gateway can switch."""
        return self.modbus.relay is not None

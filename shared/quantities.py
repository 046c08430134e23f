"""Utilities, billing units and the one measurement vocabulary.

Every protocol adapter and firmware profile translates what a meter says into these names, each
carrying its unit in the name (``energy_import_wh``, ``volume_l``). Billing quantities are kept in
base units (Wh for energy, litres for volume) as ``Decimal`` with the meter's resolution; tariffs
price per kWh or kL, so :func:`billing_units` converts once, exactly.
"""

from __future__ import annotations

import enum
from decimal import Decimal


class Utility(enum.StrEnum):
    """What a meter measures and a wallet pocket pays for."""

    ELECTRICITY = "electricity"
    WATER = "water"
    HOT_WATER = "hot_water"
    SOLAR = "solar"


class BillingUnit(enum.StrEnum):
    """The unit a tariff prices in."""

    KWH = "kWh"
    KL = "kL"


class Measurement(enum.StrEnum):
    """The closed vocabulary of measurements; the unit is the suffix of the name."""

    ENERGY_IMPORT_WH = "energy_import_wh"
    ENERGY_EXPORT_WH = "energy_export_wh"
    ENERGY_TOTAL_WH = "energy_total_wh"
    VOLUME_L = "volume_l"
    POWER_W = "power_w"
    APPARENT_POWER_VA = "apparent_power_va"
    REACTIVE_POWER_VAR = "reactive_power_var"
    POWER_FACTOR = "power_factor"
    VOLTAGE_V = "voltage_v"
    VOLTAGE_L1_V = "voltage_l1_v"
    VOLTAGE_L2_V = "voltage_l2_v"
    VOLTAGE_L3_V = "voltage_l3_v"
    CURRENT_A = "current_a"
    CURRENT_L1_A = "current_l1_a"
    CURRENT_L2_A = "current_l2_a"
    CURRENT_L3_A = "current_l3_a"
    FREQUENCY_HZ = "frequency_hz"
    PULSE_COUNT = "pulse_count"
    BATTERY_PCT = "battery_pct"
    RELAY_CLOSED = "relay_closed"


#: The register each utility is billed from, in base units.
BILLING_REGISTER: dict[Utility, Measurement] = {
    Utility.ELECTRICITY: Measurement.ENERGY_IMPORT_WH,
    Utility.SOLAR: Measurement.ENERGY_IMPORT_WH,
    Utility.WATER: Measurement.VOLUME_L,
    Utility.HOT_WATER: Measurement.VOLUME_L,
}

#: The unit each utility is priced in.
BILLING_UNIT: dict[Utility, BillingUnit] = {
    Utility.ELECTRICITY: BillingUnit.KWH,
    Utility.SOLAR: BillingUnit.KWH,
    Utility.WATER: BillingUnit.KL,
    Utility.HOT_WATER: BillingUnit.KL,
}

#: Base units (Wh, L) per billing unit (kWh, kL): both are a thousand.
BASE_UNITS_PER_BILLING_UNIT = Decimal(1000)


def billing_units(base_quantity: Decimal) -> Decimal:
    """Convert a quantity in base units (Wh or L) to billing units (kWh or kL), exactly."""
    return base_quantity / BASE_UNITS_PER_BILLING_UNIT


def base_units(billing_quantity: Decimal) -> Decimal:
    """Convert a quantity in billing units (kWh or kL) to base units (Wh or L), exactly."""
    return billing_quantity * BASE_UNITS_PER_BILLING_UNIT

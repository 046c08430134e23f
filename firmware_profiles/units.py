"""Which units a meter may report each measurement in, and the exact factor into ours.

Our unit is the suffix of the measurement's name (``energy_import_wh`` is in Wh). A profile names
the unit its register counts in; any other unit for that measurement is refused at load, so a
voltage register declared in kWh never reaches billing.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from types import MappingProxyType

from firmware_profiles.errors import ProfileFileError
from shared.quantities import Measurement

_ONE = Decimal(1)
_KILO = Decimal(1000)

_ENERGY = {"Wh": _ONE, "kWh": _KILO, "MWh": Decimal(1_000_000)}
_VOLUME = {"L": _ONE, "kL": _KILO, "m3": _KILO}
_POWER = {"W": _ONE, "kW": _KILO}
_VOLTAGE = {"V": _ONE}
_CURRENT = {"A": _ONE, "mA": Decimal("0.001")}
#: Dimensionless quantities are written with the unit "1", as SI does.
_DIMENSIONLESS = {"1": _ONE}

_FACTORS: dict[Measurement, dict[str, Decimal]] = {
    Measurement.ENERGY_IMPORT_WH: _ENERGY,
    Measurement.ENERGY_EXPORT_WH: _ENERGY,
    Measurement.ENERGY_TOTAL_WH: _ENERGY,
    Measurement.VOLUME_L: _VOLUME,
    Measurement.POWER_W: _POWER,
    Measurement.APPARENT_POWER_VA: {"VA": _ONE, "kVA": _KILO},
    Measurement.REACTIVE_POWER_VAR: {"var": _ONE, "kvar": _KILO},
    # Milesight sockets report power factor in percent.
    Measurement.POWER_FACTOR: {"1": _ONE, "%": Decimal("0.01")},
    Measurement.VOLTAGE_V: _VOLTAGE,
    Measurement.VOLTAGE_L1_V: _VOLTAGE,
    Measurement.VOLTAGE_L2_V: _VOLTAGE,
    Measurement.VOLTAGE_L3_V: _VOLTAGE,
    Measurement.CURRENT_A: _CURRENT,
    Measurement.CURRENT_L1_A: _CURRENT,
    Measurement.CURRENT_L2_A: _CURRENT,
    Measurement.CURRENT_L3_A: _CURRENT,
    Measurement.FREQUENCY_HZ: {"Hz": _ONE},
    Measurement.PULSE_COUNT: _DIMENSIONLESS,
    Measurement.BATTERY_PCT: {"%": _ONE},
}

#: Accepted units per register measurement. ``relay_closed`` is absent on purpose: a relay's state
#: is described by the profile's relay section, not by a register entry.
UNIT_FACTORS: Mapping[Measurement, Mapping[str, Decimal]] = MappingProxyType(
    {measurement: MappingProxyType(units) for measurement, units in _FACTORS.items()}
)


def parse_positive_decimal(text: str, source: str, key_path: str) -> Decimal:
    """A profile's exact decimal string as a positive ``Decimal``, or a :class:`ProfileFileError`."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value <= 0:
        raise ProfileFileError(
            source, key_path, f'expected a positive decimal string such as "0.01", got {text!r}'
        )
    return value

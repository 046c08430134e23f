"""The installer's readings at a meter replacement, in a ``[[meters]]`` entry.

A replacement is the ``serial`` of a meter id changing; these two optional keys say what the
installer read off the displays at the swap, as the meters show them (kWh for electricity, kL for
water), written as strings so no digit is lost:

- ``old_meter_final_reading``: the removed meter's last register, billed up to;
- ``new_meter_first_reading``: the new meter's register when it was installed, billed from.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from edge_agent.config.reader import Section
from shared.quantities import base_units

REPLACEMENT_KEYS = {"old_meter_final_reading", "new_meter_first_reading"}


def replacement_readings(section: Section) -> tuple[Decimal | None, Decimal | None]:
    """The old meter's final and the new meter's first register in base units, ``None`` if not given."""
    return _reading(section, "old_meter_final_reading"), _reading(section, "new_meter_first_reading")


def _reading(section: Section, key: str) -> Decimal | None:
    if key not in section.table:
        return None
    value = section.table[key]
    try:
        number = Decimal(value) if isinstance(value, str) else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or number < 0:
        raise section.fail(key, 'the meter\'s display in kWh or kL as a string, e.g. "12345.6"', value)
    return base_units(number)

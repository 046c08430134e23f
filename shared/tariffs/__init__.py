"""Tariffs and rating: effective-dated tariff versions, their TOML format, and the pure rating function.

Shapes: flat rate, inclining monthly blocks (reset on the 1st in the estate's time zone),
time-of-use (seasons × weekday/Saturday/Sunday/public holiday × bands, optionally combined with
blocks whose rate is added to the band's), fixed daily/monthly standing charges, hot water
(standing plus volumetric: a ``hot_water`` tariff with a rate and a fixed charge), a monthly solar
allocation consumed free before grid billing, and informative VAT-inclusive display.

Typical use, by the gateway's billing service and by the cloud re-rating the same inputs::

    schedule = TariffSchedule.of([parse_tariff(text, source="estate.toml")])
    tariff = compile_tariff(schedule)              # once per schedule
    result = rate_interval(tariff, start, end, quantity_wh, state)
    state = result.state                            # stored per meter

Dependency note: besides the standard library and msgspec, this package uses exactly one other
package, ``holidays``, for public-holiday calendars. It is pure computation over dates (no I/O, no
clock), wrapped in one small cached function in :mod:`shared.tariffs.calendar_days`.
"""

from shared.tariffs.compiled import CompiledTariff
from shared.tariffs.errors import RatingError, ScheduleError, TariffError, TariffFormatError
from shared.tariffs.model import (
    Band,
    Block,
    ChargePeriod,
    DayType,
    FixedCharge,
    Season,
    TariffSchedule,
    TariffVersion,
    TimeOfUse,
    Window,
)
from shared.tariffs.rating import Charge, MonthToDate, RatingResult, charges_to_cents, rate_interval
from shared.tariffs.toml_format import parse_tariff


def compile_tariff(schedule: TariffSchedule) -> CompiledTariff:
    """Compile a schedule once into the fast form :func:`rate_interval` takes."""
    return CompiledTariff(schedule)


__all__ = [
    "Band",
    "Block",
    "Charge",
    "ChargePeriod",
    "CompiledTariff",
    "DayType",
    "FixedCharge",
    "MonthToDate",
    "RatingError",
    "RatingResult",
    "ScheduleError",
    "Season",
    "TariffError",
    "TariffFormatError",
    "TariffSchedule",
    "TariffVersion",
    "TimeOfUse",
    "Window",
    "charges_to_cents",
    "compile_tariff",
    "parse_tariff",
    "rate_interval",
]

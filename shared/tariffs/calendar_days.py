"""Which kind of day a local date is, for time-of-use rating.

Public holidays come from the ``holidays`` package: pure computation over the calendar, no I/O.
Each (country, year) is computed once and kept, because rating asks for the same days over and
over.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays

from shared.tariffs.model import DayType

DEFAULT_HOLIDAY_COUNTRY = "ZA"
_SATURDAY = 5
_SUNDAY = 6


@lru_cache(maxsize=256)
def public_holidays(country: str, year: int) -> frozenset[date]:
    """The public holidays (observed days included) of ``country`` in ``year``."""
    return frozenset(holidays.country_holidays(country, years=year).keys())


@lru_cache(maxsize=1)
def supported_countries() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes the holiday calendar knows."""
    return frozenset(holidays.list_supported_countries())


def day_type(day: date, country: str) -> DayType:
    """The day type of a local date: holiday first, then Sunday, Saturday, weekday."""
    if day in public_holidays(country, day.year):
        return DayType.HOLIDAY
    weekday = day.weekday()
    if weekday == _SUNDAY:
        return DayType.SUNDAY
    if weekday == _SATURDAY:
        return DayType.SATURDAY
    return DayType.WEEKDAY

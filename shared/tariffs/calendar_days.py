"""Which kind of day a local date is, for time-of-use rating.

Public holidays come from the ``holidays`` package: pure computation over the calendar, no I/O.
Each (country, year) is computed once and kept, because rating asks for the same days over and
over.
"""

from __future__ import annotations

import importlib.util
import sys
from datetime import date
from functools import lru_cache

import holidays
from holidays.registry import EntityLoader

from shared.tariffs.model import DayType

DEFAULT_HOLIDAY_COUNTRY = "ZA"
_SATURDAY = 5
_SUNDAY = 6


@lru_cache(maxsize=256)
def public_holidays(country: str, year: int) -> frozenset[date]:
    """The public holidays (observed days included) of ``country`` in ``year``."""
    _load_countries_one_by_one()
    return frozenset(holidays.country_holidays(country, years=year).keys())


@lru_cache(maxsize=1)
def supported_countries() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes the holiday calendar knows (and their aliases), read from its registry.

    The registry lists them without importing a single country's module, where
    ``holidays.list_supported_countries`` imports all of them to list their subdivisions.
    """
    return frozenset(EntityLoader.get_country_codes())


def _load_countries_one_by_one() -> None:
    """Let ``holidays`` import a country's module without the other ~250.

    The package ``holidays.countries`` imports every country in its ``__init__``: about 8 MiB that
    would stay resident on a gateway that only ever needs its own country. Its country modules do
    not need that ``__init__`` (they import each other by full module path), so the package is
    registered unexecuted, as a plain namespace over its folder, before the first country loads.
    """
    if "holidays.countries" in sys.modules:
        return
    spec = importlib.util.find_spec("holidays.countries")
    assert spec is not None and spec.submodule_search_locations is not None
    sys.modules["holidays.countries"] = importlib.util.module_from_spec(spec)


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

"""Friendly-credit windows: local times in which no disconnection happens.

A window applies on the local dates whose day type it lists and covers ``[start, end)`` local
time. When ``end ≤ start`` it wraps past midnight into the next date (whatever that date's day
type): a Friday ``weekday`` window 18:00–07:00 covers Saturday until 07:00. ``end = 24:00`` means
the next midnight; ``start == end`` covers 24 hours from ``start``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date, datetime, timedelta, tzinfo

import msgspec

from shared.credit.errors import CreditError

MINUTES_PER_DAY = 24 * 60
# Chained windows (Friday night → Saturday → Sunday → Monday morning) are followed to their common
# end; a bounded walk, since windows that cover every minute would never end.
_MAX_CHAINED_WINDOWS = 64


class DayType(enum.StrEnum):
    """The kind of a local date. A public holiday is ``holiday`` whatever its weekday."""

    WEEKDAY = "weekday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"
    HOLIDAY = "holiday"


class FriendlyWindow(msgspec.Struct, frozen=True, kw_only=True):
    """A friendly-credit window: on ``days``, from ``start_minute`` to ``end_minute`` (local).

    Minutes count from local midnight: 06:30 is 390; ``end_minute`` may be 1440 (24:00).
    """

    days: frozenset[DayType]
    start_minute: int
    end_minute: int

    def __post_init__(self) -> None:
        if not self.days:
            raise CreditError("friendly window: expected at least one day type")
        if not 0 <= self.start_minute < MINUTES_PER_DAY:
            raise CreditError(f"friendly window: start_minute {self.start_minute} is not in 0..1439")
        if not 0 < self.end_minute <= MINUTES_PER_DAY:
            raise CreditError(f"friendly window: end_minute {self.end_minute} is not in 1..1440")

    @property
    def wraps(self) -> bool:
        """Whether the window runs past midnight into the next date."""
        return self.end_minute <= self.start_minute


def day_type(day: date, holidays: frozenset[date]) -> DayType:
    """The day type of a local date, given the estate's public holidays."""
    if day in holidays:
        return DayType.HOLIDAY
    weekday = day.weekday()
    if weekday == 5:
        return DayType.SATURDAY
    if weekday == 6:
        return DayType.SUNDAY
    return DayType.WEEKDAY


def covering_window_end(
    windows: Iterable[FriendlyWindow], at: datetime, zone: tzinfo, holidays: frozenset[date]
) -> datetime | None:
    """When the friendly period containing ``at`` ends, or ``None`` if ``at`` is in no window.

    Windows that touch or overlap are one period: the end is where no window continues it.
    """
    windows = tuple(windows)
    end = _first_end(windows, at, zone, holidays)
    if end is None:
        return None
    for _ in range(_MAX_CHAINED_WINDOWS):
        later = _first_end(windows, end, zone, holidays)
        if later is None or later <= end:
            return end
        end = later
    return end


def _first_end(
    windows: tuple[FriendlyWindow, ...], at: datetime, zone: tzinfo, holidays: frozenset[date]
) -> datetime | None:
    # The latest end among the windows covering ``at``.
    ends = [end for window in windows if (end := _window_end(window, at, zone, holidays)) is not None]
    return max(ends, default=None)


def _window_end(
    window: FriendlyWindow, at: datetime, zone: tzinfo, holidays: frozenset[date]
) -> datetime | None:
    local = at.astimezone(zone)
    today = local.date()
    minute = local.hour * 60 + local.minute
    yesterday = today - timedelta(days=1)
    # Today's occurrence, started today.
    if day_type(today, holidays) in window.days and minute >= window.start_minute:
        if window.wraps:
            return _local_instant(today + timedelta(days=1), window.end_minute, zone)
        if minute < window.end_minute:
            return _local_instant(today, window.end_minute, zone)
    # Yesterday's occurrence, wrapping into today.
    if window.wraps and day_type(yesterday, holidays) in window.days and minute < window.end_minute:
        return _local_instant(today, window.end_minute, zone)
    return None


def _local_instant(day: date, minute: int, zone: tzinfo) -> datetime:
    # ``end_minute`` 1440 is the next midnight; build it from the next date so no field overflows.
    day = day + timedelta(days=minute // MINUTES_PER_DAY)
    minute %= MINUTES_PER_DAY
    return datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=zone)

"""Friendly-credit windows: which local moments are covered and when the covered period ends."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.credit import CreditPolicy, DayType, FriendlyWindow, day_type, friendly_window_end
from shared.quantities import Utility

SAST = ZoneInfo("Africa/Johannesburg")
WEEKDAY, SATURDAY, SUNDAY, HOLIDAY = DayType.WEEKDAY, DayType.SATURDAY, DayType.SUNDAY, DayType.HOLIDAY


def policy(*windows: FriendlyWindow, timezone: str = "Africa/Johannesburg") -> CreditPolicy:
    return CreditPolicy(utility=Utility.ELECTRICITY, timezone=timezone, friendly_windows=windows)


def window(days: set[DayType], start: str, end: str) -> FriendlyWindow:
    def minute(text: str) -> int:
        hours, minutes = text.split(":")
        return int(hours) * 60 + int(minutes)

    return FriendlyWindow(days=frozenset(days), start_minute=minute(start), end_minute=minute(end))


def sast(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SAST)  # 2026-11-16 is a Monday


@pytest.mark.parametrize(
    ("day", "holidays", "expected"),
    [
        (date(2026, 11, 16), frozenset(), WEEKDAY),
        (date(2026, 11, 21), frozenset(), SATURDAY),
        (date(2026, 11, 22), frozenset(), SUNDAY),
        (date(2026, 12, 16), frozenset({date(2026, 12, 16)}), HOLIDAY),
        (date(2026, 12, 26), frozenset({date(2026, 12, 26)}), HOLIDAY),  # a Saturday holiday
    ],
)
def test_day_type(day: date, holidays: frozenset[date], expected: DayType) -> None:
    assert day_type(day, holidays) is expected


NIGHTS = window({WEEKDAY}, "18:00", "07:00")


@pytest.mark.parametrize(
    ("at", "end"),
    [
        pytest.param(sast(16, 17, 59), None, id="Mon 17:59 before"),
        pytest.param(sast(16, 18, 0), sast(17, 7), id="Mon 18:00 start"),
        pytest.param(sast(17, 6, 59), sast(17, 7), id="Tue 06:59 wrapped part"),
        pytest.param(sast(17, 7, 0), None, id="Tue 07:00 end is not covered"),
        pytest.param(sast(21, 6, 0), sast(21, 7), id="Fri night wraps into Saturday"),
        pytest.param(sast(22, 20, 0), None, id="Sunday night is not a weekday"),
        pytest.param(sast(23, 3, 0), None, id="Mon 03:00 belongs to Sunday's night"),
    ],
)
def test_window_wrapping_past_midnight(at: datetime, end: datetime | None) -> None:
    assert friendly_window_end(policy(NIGHTS), at, frozenset()) == end


def test_window_to_midnight_and_whole_day() -> None:
    evening = policy(window({WEEKDAY}, "20:00", "24:00"))
    assert friendly_window_end(evening, sast(16, 23, 59), frozenset()) == sast(17, 0)
    whole_day = policy(window({SATURDAY}, "06:00", "06:00"))
    assert friendly_window_end(whole_day, sast(22, 5, 0), frozenset()) == sast(22, 6)


def test_adjoining_windows_end_together_across_a_weekend() -> None:
    weekend = policy(NIGHTS, window({SATURDAY, SUNDAY}, "00:00", "24:00"), window({SUNDAY}, "18:00", "07:00"))
    assert friendly_window_end(weekend, sast(20, 19), frozenset()) == sast(23, 7)


def test_a_public_holiday_extends_the_period_and_is_its_own_day_type() -> None:
    tuesday_holiday = frozenset({date(2026, 11, 17)})
    every_night = window({WEEKDAY, HOLIDAY}, "18:00", "07:00")
    nights_and_holidays = policy(every_night, window({HOLIDAY}, "00:00", "24:00"))
    assert friendly_window_end(nights_and_holidays, sast(16, 19), tuesday_holiday) == sast(18, 7)
    # A holiday is not a weekday: weekday-only nights do not run from the holiday's evening.
    weekday_nights_only = policy(NIGHTS, window({HOLIDAY}, "00:00", "24:00"))
    assert friendly_window_end(weekday_nights_only, sast(16, 19), tuesday_holiday) == sast(18, 0)


def test_window_end_follows_the_estate_time_zone_not_the_callers() -> None:
    utc_moment = datetime(2026, 11, 16, 16, 30, tzinfo=UTC)  # 18:30 in Johannesburg
    assert friendly_window_end(policy(NIGHTS), utc_moment, frozenset()) == sast(17, 7)


def test_window_end_across_a_daylight_saving_change() -> None:
    nightly = policy(window(set(DayType), "22:00", "07:00"), timezone="Europe/London")
    # Clocks go forward on Sunday 2026-03-29: 07:00 that morning is 06:00 UTC.
    end = friendly_window_end(nightly, datetime(2026, 3, 28, 23, 0, tzinfo=UTC), frozenset())
    assert end == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)


def test_windows_covering_every_minute_give_a_bounded_recheck_time() -> None:
    always = policy(window(set(DayType), "00:00", "24:00"))
    end = friendly_window_end(always, sast(16, 12), frozenset())
    assert end is not None and timedelta(days=1) < end - sast(16, 12) < timedelta(days=70)

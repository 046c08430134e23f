"""Effective-dated versions: ordering and the rules that keep a schedule meaningful."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from shared.money import ZERO
from shared.tariffs import ScheduleError, TariffSchedule, compile_tariff, parse_tariff, rate_interval
from tests.unit.tariffs.conftest import example_text, example_version


def _with(**changes):
    version = example_version("flat")
    return type(version)(**{**{f: getattr(version, f) for f in version.__slots__}, **changes})


def test_versions_are_ordered_by_effective_date():
    later = _with(effective_from=date(2027, 7, 1))
    schedule = TariffSchedule.of([later, example_version("flat")])
    assert [v.effective_from.year for v in schedule.versions] == [2026, 2027]


def test_two_versions_starting_the_same_day_are_refused():
    with pytest.raises(ScheduleError, match="both start on 2026-07-01"):
        TariffSchedule.of([example_version("flat"), _with(rate=Decimal(3))])


def test_versions_must_agree_on_currency_and_time_zone():
    with pytest.raises(ScheduleError, match="has currency 'USD'"):
        TariffSchedule.of([example_version("flat"), _with(currency="USD", effective_from=date(2027, 1, 1))])


def test_empty_schedule_is_refused():
    with pytest.raises(ScheduleError, match="at least one version"):
        TariffSchedule.of([])


def test_daily_charge_is_whole_on_a_23_hour_daylight_saving_day():
    text = (
        example_text("flat")
        .replace("Africa/Johannesburg", "Europe/London")
        .replace("2026-07-01", "2026-01-01")
    )
    tariff = compile_tariff(TariffSchedule.of([parse_tariff(text, "london.toml")]))
    london = ZoneInfo("Europe/London")
    start = datetime(2026, 3, 29, tzinfo=london)  # clocks go forward at 01:00
    end = datetime(2026, 3, 30, tzinfo=london)
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=23)
    assert rate_interval(tariff, start, end, ZERO).total == Decimal("5.20")

"""Rating: what a tenant would see on a statement for flat, blocks, time of use, solar and standing charges."""

from __future__ import annotations

from datetime import UTC, timedelta
from decimal import Decimal

import pytest

from shared.money import ZERO
from shared.tariffs import (
    MonthToDate,
    RatingError,
    TariffSchedule,
    charges_to_cents,
    compile_tariff,
    rate_interval,
)
from tests.unit.tariffs.conftest import SAST, example_version, sast

KWH = Decimal(1000)


def consumption(result):
    return [(c.band, c.quantity, c.amount) for c in result.charges if not c.band.startswith("fixed:")]


def test_flat_interval_is_one_charge_at_the_rate_plus_the_accrued_daily_charge(compiled):
    result = rate_interval(compiled("flat"), sast(2026, 7, 6, 12), sast(2026, 7, 6, 12, 15), 2 * KWH)
    energy, service = result.charges
    assert (energy.band, energy.quantity, energy.amount) == ("flat", 2 * KWH, Decimal("5.70"))
    assert energy.tariff_version == "Estate domestic flat@2026-07-01"
    assert service.band == "fixed:service"
    assert service.quantity == 0
    assert service.amount == (Decimal("5.20") * 15 / 1440).quantize(Decimal("1E-12"))
    assert result.state == MonthToDate(sast(2026, 7, 1), 2 * KWH)


def test_meter_read_every_minute_accrues_exactly_the_daily_charge_over_a_day(compiled):
    tariff = compiled("flat")
    state, total = None, ZERO
    for minute in range(24 * 60):
        start = sast(2026, 7, 6) + timedelta(minutes=minute)
        result = rate_interval(tariff, start, start + timedelta(minutes=1), ZERO, state)
        state, total = result.state, total + result.total
    assert total == Decimal("5.20")


def test_monthly_charge_accrues_evenly_over_the_days_of_its_month(compiled):
    tariff = compiled("hot_water")
    july = rate_interval(tariff, sast(2026, 7, 1), sast(2026, 8, 1), ZERO)
    assert july.total == Decimal("95.00")
    one_day = rate_interval(tariff, sast(2026, 7, 10), sast(2026, 7, 11), ZERO)
    assert abs(one_day.total - Decimal("95.00") / 31) < Decimal("1E-11")
    assert len(july.charges) == 31  # one standing charge per local day


def test_interval_over_local_midnight_splits_at_midnight_by_time(compiled):
    result = rate_interval(
        compiled("flat"), sast(2026, 7, 6, 23, 45), sast(2026, 7, 7, 0, 15), 600 * Decimal(1)
    )
    energy = [c for c in result.charges if c.band == "flat"]
    assert [(c.start, c.end, c.quantity) for c in energy] == [
        (sast(2026, 7, 6, 23, 45), sast(2026, 7, 7), Decimal(300)),
        (sast(2026, 7, 7), sast(2026, 7, 7, 0, 15), Decimal(300)),
    ]


def test_blocks_split_exactly_at_the_limit(compiled):
    state = MonthToDate(sast(2026, 7, 1), 49 * KWH)
    result = rate_interval(
        compiled("inclining_blocks"), sast(2026, 7, 6, 12), sast(2026, 7, 6, 12, 30), 3 * KWH, state
    )
    first, second = [c for c in result.charges if c.quantity]
    assert (first.band, first.quantity, first.amount) == ("block:1", KWH, Decimal("1.98"))
    assert (second.band, second.quantity, second.amount) == ("block:2", 2 * KWH, Decimal("5.08"))
    assert first.end == second.start == sast(2026, 7, 6, 12, 10)  # a third of the way through
    assert result.state.consumed == 52 * KWH


def test_blocks_reset_at_local_midnight_on_the_first(compiled):
    tariff = compiled("inclining_blocks")
    state = MonthToDate(sast(2026, 7, 1), 700 * KWH)
    result = rate_interval(tariff, sast(2026, 7, 31, 23), sast(2026, 8, 1, 1), 2 * KWH, state)
    assert consumption(result) == [
        ("block:4", KWH, Decimal("3.69")),
        ("block:1", KWH, Decimal("1.98")),
    ]
    assert result.state == MonthToDate(sast(2026, 8, 1), KWH)
    # The 1st in Johannesburg is still the 31st in UTC: the reset follows the estate's clock.
    energy = [c for c in result.charges if c.quantity]
    assert energy[1].start.astimezone(SAST) == sast(2026, 8, 1)
    assert energy[1].start.astimezone(UTC).day == 31


def test_state_from_an_earlier_month_resets_without_a_reset_job(compiled):
    stale = MonthToDate(sast(2026, 7, 1), 900 * KWH)
    result = rate_interval(compiled("inclining_blocks"), sast(2026, 9, 3, 8), sast(2026, 9, 3, 9), KWH, stale)
    assert consumption(result) == [("block:1", KWH, Decimal("1.98"))]
    assert result.state == MonthToDate(sast(2026, 9, 1), KWH)


def test_time_of_use_splits_at_the_band_switch(compiled):
    tariff = compiled("time_of_use")
    result = rate_interval(tariff, sast(2026, 7, 6, 7, 30), sast(2026, 7, 6, 8, 30), 2 * KWH)
    assert consumption(result) == [
        ("high/peak", KWH, Decimal("6.12")),
        ("high/standard", KWH, Decimal("2.10")),
    ]


def test_time_of_use_uses_the_low_season_rates_outside_winter(compiled):
    result = rate_interval(compiled("time_of_use"), sast(2026, 10, 5, 18), sast(2026, 10, 5, 19), KWH)
    assert consumption(result) == [("low/peak", KWH, Decimal("3.34"))]


def test_public_holiday_is_priced_as_a_holiday_not_a_weekday(compiled):
    tariff = compiled("time_of_use")
    # Monday 10 August 2026: National Women's Day (observed), a weekday peak hour otherwise.
    holiday = rate_interval(tariff, sast(2026, 8, 10, 18), sast(2026, 8, 10, 19), KWH)
    ordinary = rate_interval(tariff, sast(2026, 8, 17, 18), sast(2026, 8, 17, 19), KWH)
    assert consumption(holiday) == [("high/off_peak", KWH, Decimal("1.41"))]
    assert consumption(ordinary) == [("high/peak", KWH, Decimal("6.12"))]


def test_off_peak_window_wraps_past_midnight(compiled):
    result = rate_interval(compiled("time_of_use"), sast(2026, 7, 7, 23), sast(2026, 7, 8, 1), 2 * KWH)
    assert [c[0] for c in consumption(result)] == ["high/off_peak", "high/off_peak"]


def test_time_of_use_with_blocks_adds_the_block_rate_to_the_band_rate(compiled):
    state = MonthToDate(sast(2026, 7, 1), 299 * KWH)
    result = rate_interval(
        compiled("time_of_use_blocks"), sast(2026, 7, 6, 8), sast(2026, 7, 6, 9), 2 * KWH, state
    )
    assert consumption(result) == [
        ("peak/block:1", KWH, Decimal("3.90")),
        ("peak/block:2", KWH, Decimal("4.35")),
    ]


def test_solar_allocation_is_free_then_billed_at_the_grid_rate(compiled):
    state = MonthToDate(sast(2026, 7, 1), 99 * KWH)
    result = rate_interval(
        compiled("solar_allocation"), sast(2026, 7, 6, 12), sast(2026, 7, 6, 13), 3 * KWH, state
    )
    assert consumption(result) == [("solar:free", KWH, ZERO), ("flat", 2 * KWH, Decimal("6.20"))]


def test_new_tariff_version_takes_over_at_local_midnight_of_its_date():
    july = example_version("flat")
    august = type(july)(**{**{f: getattr(july, f) for f in july.__slots__}, "rate": Decimal("3.00"),
                            "effective_from": july.effective_from.replace(month=8)})  # fmt: skip
    tariff = compile_tariff(TariffSchedule.of([august, july]))
    result = rate_interval(tariff, sast(2026, 7, 31, 23), sast(2026, 8, 1, 1), 2 * KWH)
    assert [(c.tariff_version, c.amount) for c in result.charges if c.band == "flat"] == [
        ("Estate domestic flat@2026-07-01", Decimal("2.85")),
        ("Estate domestic flat@2026-08-01", Decimal("3.00")),
    ]


def test_zero_consumption_leaves_out_consumption_charges(compiled):
    result = rate_interval(compiled("time_of_use"), sast(2026, 7, 6, 7), sast(2026, 7, 6, 9), ZERO)
    assert result.charges == ()


@pytest.mark.parametrize(
    ("start", "end", "quantity", "message"),
    [
        (sast(2026, 7, 6, 9), sast(2026, 7, 6, 9), KWH, "must end after it starts"),
        (sast(2026, 7, 6, 9), sast(2026, 7, 6, 8), KWH, "must end after it starts"),
        (sast(2026, 7, 6, 8), sast(2026, 7, 6, 9), -KWH, "a register that goes backwards is an alarm"),
        (sast(2026, 6, 30, 8), sast(2026, 6, 30, 9), KWH, "before the first version of tariff"),
        (sast(2026, 7, 6, 8).replace(tzinfo=None), sast(2026, 7, 6, 9), KWH, "timezone-aware"),
    ],
)
def test_intervals_that_cannot_be_rated_are_refused(compiled, start, end, quantity, message):
    with pytest.raises(RatingError, match=message):
        rate_interval(compiled("flat"), start, end, quantity)


def test_state_from_a_later_month_is_refused(compiled):
    later = MonthToDate(sast(2026, 9, 1), KWH)
    with pytest.raises(RatingError, match="intervals must be rated in order"):
        rate_interval(compiled("flat"), sast(2026, 8, 6, 8), sast(2026, 8, 6, 9), KWH, later)


def test_carry_turns_sub_cent_charges_into_cents_without_losing_money(compiled):
    tariff = compiled("flat")
    charges, state = [], None
    for minute in range(600):
        start = sast(2026, 7, 6, 8) + timedelta(minutes=minute)
        result = rate_interval(tariff, start, start + timedelta(minutes=1), Decimal(1), state)
        charges.extend(result.charges)
        state = result.state
    cents, carry = charges_to_cents(charges, ZERO)
    exact = sum(c.amount for c in charges)
    assert abs(Decimal(sum(cents)) / 100 - exact) <= Decimal("0.01")
    assert sum(cents) == 388  # 600 Wh at R2.85 = R1.71, plus 10 h of R5.20/day = R2.1666…
    assert abs(carry) <= Decimal("0.005")


def test_rating_ignores_the_callers_decimal_context(compiled):
    import decimal

    tariff = compiled("time_of_use")
    expected = rate_interval(tariff, sast(2026, 7, 6, 7, 13), sast(2026, 7, 6, 8, 2), Decimal(1000))
    with decimal.localcontext(decimal.Context(prec=5, rounding=decimal.ROUND_DOWN)):
        again = rate_interval(tariff, sast(2026, 7, 6, 7, 13), sast(2026, 7, 6, 8, 2), Decimal(1000))
    assert again == expected


def test_whole_day_window_covers_sunday(compiled):
    result = rate_interval(compiled("time_of_use_blocks"), sast(2026, 7, 5, 12), sast(2026, 7, 5, 13), KWH)
    assert consumption(result) == [("off_peak/block:1", KWH, Decimal("1.60"))]


SEASONAL_WINDOWS = """
[tariff]
name = "Seasonal hours"
utility = "electricity"
unit = "kWh"
currency = "ZAR"
timezone = "Africa/Johannesburg"
effective_from = 2026-01-01

[tariff.tou]
[[tariff.tou.bands]]
name = "peak"
rate = "4.00"
[[tariff.tou.bands]]
name = "off_peak"
rate = "1.00"

[[tariff.tou.seasons]]
name = "winter"
months = [6, 7, 8]
[[tariff.tou.seasons]]
name = "summer"
months = [1, 2, 3, 4, 5, 9, 10, 11, 12]

[[tariff.tou.windows]]
band = "peak"
days = ["weekday", "saturday", "sunday", "holiday"]
seasons = ["winter"]
from = "17:00"
to = "20:00"
[[tariff.tou.windows]]
band = "off_peak"
days = ["weekday", "saturday", "sunday", "holiday"]
seasons = ["winter"]
from = "20:00"
to = "17:00"
[[tariff.tou.windows]]
band = "off_peak"
days = ["weekday", "saturday", "sunday", "holiday"]
seasons = ["summer"]
from = "00:00"
to = "00:00"
"""


def test_windows_can_differ_by_season():
    from shared.tariffs import parse_tariff

    tariff = compile_tariff(TariffSchedule.of([parse_tariff(SEASONAL_WINDOWS, "seasonal.toml")]))
    winter = rate_interval(tariff, sast(2026, 7, 6, 18), sast(2026, 7, 6, 19), KWH)
    summer = rate_interval(tariff, sast(2026, 10, 5, 18), sast(2026, 10, 5, 19), KWH)
    assert consumption(winter) == [("winter/peak", KWH, Decimal("4.00"))]
    assert consumption(summer) == [("summer/off_peak", KWH, Decimal("1.00"))]

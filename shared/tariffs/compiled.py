"""A tariff schedule compiled once into the form rating reads at speed.

Rating a one-minute interval must cost microseconds, so everything that does not depend on the
interval is decided here, once: rates per *base* unit (Wh, L), the ladder of month-to-date
thresholds (solar allocation, then blocks) for every season and band, and, per local day, a
:class:`DayPlan` with the band switch points already turned into instants (integer microseconds
since the Unix epoch). Day plans are memoised; the memo never changes a result, only its cost.
"""

from __future__ import annotations

import calendar
import zoneinfo
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow

from shared.quantities import BASE_UNITS_PER_BILLING_UNIT
from shared.tariffs.calendar_days import day_type
from shared.tariffs.errors import RatingError
from shared.tariffs.model import MINUTES_PER_DAY, ChargePeriod, DayType, TariffSchedule, TariffVersion
from shared.tariffs.tou import ALL_YEAR, BandRuns, band_runs

#: Rating's own arithmetic context, passed to every operation that can round, so a caller's decimal
#: settings never change a charge (the cloud re-rates the gateway's charges to the last digit).
RATING_CONTEXT = Context(
    prec=34, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)
ACCRUAL_QUANTUM = Decimal("1E-12")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_US = timedelta(microseconds=1)
_FAR_FUTURE_US = 2**62
_FREE_LABEL = "solar:free"
#: Bounded memo: a cloud re-rating years of readings must not grow without limit.
_MAX_PLANS = 4096


@dataclass(frozen=True, slots=True)
class PriceLadder:
    """For one season and band: month-to-date upper limits (base units, ``None`` = no limit) and,
    per step, the charge's band label and the rate per base unit."""

    uppers: tuple[Decimal | None, ...]
    labels: tuple[str, ...]
    rates: tuple[Decimal, ...]


@dataclass(frozen=True, slots=True)
class FixedAccrual:
    """A standing charge ready to accrue: label ``fixed:<name>``, amount, and whether per month."""

    label: str
    amount: Decimal
    per_month: bool


@dataclass(frozen=True, slots=True)
class DayPlan:
    """One local day under one tariff version, with instants in microseconds since the epoch."""

    version_id: str
    start_us: int
    end_us: int
    month_start: datetime
    day_index: int
    days_in_month: int
    segment_ends: tuple[int, ...]
    segment_ladders: tuple[PriceLadder, ...]
    fixed: tuple[FixedAccrual, ...]


@dataclass(frozen=True, slots=True)
class _Version:
    version: TariffVersion
    start_us: int
    runs: dict[tuple[str, DayType], BandRuns]
    ladders: dict[tuple[str, str], PriceLadder]
    fixed: tuple[FixedAccrual, ...]


class CompiledTariff:
    """A :class:`TariffSchedule` ready to rate; build once per schedule and reuse for every interval."""

    __slots__ = ("_accrued", "_instant", "_last", "_plans", "_starts", "_versions", "schedule", "timezone")

    def __init__(self, schedule: TariffSchedule) -> None:
        self.schedule = schedule
        self.timezone = zoneinfo.ZoneInfo(schedule.versions[0].timezone)
        self._versions = tuple(_compile_version(v, self.timezone) for v in schedule.versions)
        self._starts = tuple(v.start_us for v in self._versions)
        self._plans: dict[tuple[int, date], DayPlan] = {}
        self._last: DayPlan | None = None
        # One-entry memos: consecutive readings share an instant (this interval's start is the
        # previous one's end), so converting it and accruing standing charges up to it are reused.
        self._instant: tuple[datetime | None, int] = (None, 0)
        self._accrued: tuple[int, DayPlan | None, tuple[Decimal, ...]] = (0, None, ())

    def instant_us(self, moment: datetime) -> int:
        """Microseconds since the Unix epoch of an aware datetime (``TypeError`` if it is naive)."""
        memo_moment, memo_us = self._instant
        if moment is memo_moment:
            return memo_us
        instant = (moment - EPOCH) // ONE_US
        self._instant = (moment, instant)
        return instant

    def accrued(self, plan: DayPlan, instant_us: int) -> tuple[Decimal, ...]:
        """Each standing charge of ``plan`` accrued from the start of its day (or month) to ``instant_us``.

        A function of the instant alone, kept to 10⁻¹² currency units, so the charge for any span
        is accrued(end) − accrued(start) and spans cut any way add up exactly.
        """
        memo_us, memo_plan, memo_values = self._accrued
        if memo_plan is plan and memo_us == instant_us:
            return memo_values
        day_us = plan.end_us - plan.start_us
        into = instant_us - plan.start_us
        values = tuple(
            _accrued(f.amount, plan.day_index * day_us + into, plan.days_in_month * day_us)
            if f.per_month
            else _accrued(f.amount, into, day_us)
            for f in plan.fixed
        )
        self._accrued = (instant_us, plan, values)
        return values

    def moment(self, instant_us: int) -> datetime:
        """An instant as a datetime in the estate's time zone."""
        return (EPOCH + timedelta(microseconds=instant_us)).astimezone(self.timezone)

    def plan_at(self, instant_us: int) -> DayPlan:
        """The plan of the local day containing ``instant_us``."""
        last = self._last
        if last is not None and last.start_us <= instant_us < last.end_us:
            return last
        index = bisect_right(self._starts, instant_us) - 1
        if index < 0:
            first = self._versions[0].version
            raise RatingError(
                f"{self.moment(instant_us).isoformat()} is before the first version of tariff "
                f"{first.name!r} ({first.version_id}); no tariff is in force then"
            )
        key = (index, self.moment(instant_us).date())
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) >= _MAX_PLANS:
                self._plans.clear()
            plan = self._plans[key] = self._build_plan(index, key[1])
        self._last = plan
        return plan

    def _build_plan(self, index: int, day: date) -> DayPlan:
        compiled = self._versions[index]
        version = compiled.version
        season = _season_of(version, day.month)
        kind = day_type(day, version.tou.holiday_country) if version.tou else DayType.WEEKDAY
        runs = compiled.runs[(season, kind)]
        start_us = _local_us(day, 0, self.timezone)
        end_us = _local_us(day + timedelta(days=1), 0, self.timezone)
        ends: list[int] = []
        ladders: list[PriceLadder] = []
        for _, end_minute, band in runs:
            # Clamped so a daylight-saving gap can only shorten a band, never reorder them.
            end = max(_local_us(day, end_minute, self.timezone), ends[-1] if ends else start_us)
            ends.append(min(end, end_us))
            ladders.append(compiled.ladders[(season, band)])
        ends[-1] = end_us
        return DayPlan(
            version_id=version.version_id,
            start_us=start_us,
            end_us=end_us,
            month_start=datetime(day.year, day.month, 1, tzinfo=self.timezone),
            day_index=day.day - 1,
            days_in_month=calendar.monthrange(day.year, day.month)[1],
            segment_ends=tuple(ends),
            segment_ladders=tuple(ladders),
            fixed=compiled.fixed,
        )


def _accrued(amount: Decimal, elapsed: int, whole: int) -> Decimal:
    # A monthly charge passes whole days so far plus the fraction of today: spread evenly over
    # the days of its month, whatever their length in hours.
    return RATING_CONTEXT.divide(RATING_CONTEXT.multiply(amount, elapsed), whole).quantize(
        ACCRUAL_QUANTUM, context=RATING_CONTEXT
    )


def _local_us(day: date, minute: int, zone: zoneinfo.ZoneInfo) -> int:
    if minute == MINUTES_PER_DAY:
        return _local_us(day + timedelta(days=1), 0, zone)
    local = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=zone)
    return (local - EPOCH) // ONE_US


def _season_of(version: TariffVersion, month: int) -> str:
    if version.tou is None or not version.tou.seasons:
        return ALL_YEAR
    return next(season.name for season in version.tou.seasons if month in season.months)


def _compile_version(version: TariffVersion, zone: zoneinfo.ZoneInfo) -> _Version:
    if version.tou is None:
        runs: dict[tuple[str, DayType], BandRuns] = {(ALL_YEAR, DayType.WEEKDAY): ((0, MINUTES_PER_DAY, ""),)}
        ladders = {(ALL_YEAR, ""): _ladder(version, "", "", version.rate or Decimal(0))}
    else:
        runs = band_runs(version.tou, version.version_id)
        seasons = version.tou.seasons
        ladders = {}
        for band in version.tou.bands:
            for season in seasons or ():
                season_rate = season.rate_for(band.name)
                rate = season_rate if season_rate is not None else band.rate or Decimal(0)
                ladders[(season.name, band.name)] = _ladder(version, season.name, band.name, rate)
            if not seasons:
                ladders[(ALL_YEAR, band.name)] = _ladder(version, "", band.name, band.rate or Decimal(0))
    fixed = tuple(
        FixedAccrual(label=f"fixed:{f.name}", amount=f.amount, per_month=f.per is ChargePeriod.MONTH)
        for f in version.fixed
    )
    start = datetime(
        version.effective_from.year, version.effective_from.month, version.effective_from.day, tzinfo=zone
    )
    return _Version(version, (start - EPOCH) // ONE_US, runs, ladders, fixed)


def _ladder(version: TariffVersion, season: str, band: str, band_rate: Decimal) -> PriceLadder:
    """Month-to-date steps: the solar allocation first (free), then each block (rate added to the band's)."""
    uppers: list[Decimal | None] = []
    labels: list[str] = []
    rates: list[Decimal] = []
    context = RATING_CONTEXT
    free = context.multiply(version.solar_free_per_month, BASE_UNITS_PER_BILLING_UNIT)
    if free > 0:
        uppers.append(free)
        labels.append(_FREE_LABEL)
        rates.append(Decimal(0))
    prefix = "/".join(part for part in (season, band) if part)
    steps = [(block.up_to, block.rate) for block in version.blocks] or [(None, Decimal(0))]
    for number, (up_to, block_rate) in enumerate(steps, start=1):
        uppers.append(
            None if up_to is None else context.add(free, context.multiply(up_to, BASE_UNITS_PER_BILLING_UNIT))
        )
        block = f"block:{number}" if version.blocks else ""
        labels.append("/".join(part for part in (prefix, block) if part) or "flat")
        # Rates are quoted per kWh or kL; rating multiplies quantities kept in Wh or L.
        rates.append(context.divide(context.add(band_rate, block_rate), BASE_UNITS_PER_BILLING_UNIT))
    return PriceLadder(uppers=tuple(uppers), labels=tuple(labels), rates=tuple(rates))

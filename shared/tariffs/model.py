"""The tariff model: one effective-dated version of a tariff, and a schedule of versions.

Rates and amounts are exact ``Decimal`` currency units per *billing* unit (kWh or kL), as written
in the tariff file; block limits and the solar allocation are in billing units too. Rating converts
them to base units (Wh, L) once, when a schedule is compiled.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import pairwise

from shared.quantities import BillingUnit, Utility
from shared.tariffs.errors import ScheduleError

MINUTES_PER_DAY = 24 * 60


class DayType(enum.StrEnum):
    """How a time-of-use tariff tells days apart; a public holiday outranks the weekday."""

    WEEKDAY = "weekday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"
    HOLIDAY = "holiday"


class ChargePeriod(enum.StrEnum):
    """What a fixed (standing) charge is quoted per."""

    DAY = "day"
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class Block:
    """One inclining block: consumption this month up to ``up_to`` (``None`` on the last) at ``rate``."""

    up_to: Decimal | None
    rate: Decimal


@dataclass(frozen=True, slots=True)
class Band:
    """A time-of-use band; ``rate`` is ``None`` when every season sets its own rate."""

    name: str
    rate: Decimal | None


@dataclass(frozen=True, slots=True)
class Season:
    """Months of the year sharing band rates (and possibly their own windows)."""

    name: str
    months: frozenset[int]
    rates: tuple[tuple[str, Decimal], ...]

    def rate_for(self, band: str) -> Decimal | None:
        """This season's rate for ``band``, or ``None`` when the band's own rate applies."""
        return next((rate for name, rate in self.rates if name == band), None)


@dataclass(frozen=True, slots=True)
class Window:
    """A band's hours on some day types, in minutes after local midnight; ``end`` may be ≤ ``start``
    (wraps past midnight) and ``start == end`` means the whole day. ``seasons`` empty = all."""

    band: str
    days: frozenset[DayType]
    start_minute: int
    end_minute: int
    seasons: frozenset[str]


@dataclass(frozen=True, slots=True)
class TimeOfUse:
    """Bands, the windows that place them in the day, optional seasons and the holiday calendar."""

    bands: tuple[Band, ...]
    windows: tuple[Window, ...]
    seasons: tuple[Season, ...]
    holiday_country: str


@dataclass(frozen=True, slots=True)
class FixedCharge:
    """A standing charge that accrues with time, whatever is consumed."""

    name: str
    amount: Decimal
    per: ChargePeriod


@dataclass(frozen=True, slots=True)
class TariffVersion:
    """One version of a tariff, in force from local midnight of ``effective_from``.

    Exactly one of ``rate``, ``blocks`` or ``tou`` prices consumption, except that ``tou`` and
    ``blocks`` combine: the block rate is then added to the band rate.
    """

    name: str
    utility: Utility
    unit: BillingUnit
    currency: str
    timezone: str
    effective_from: date
    rate: Decimal | None = None
    blocks: tuple[Block, ...] = ()
    tou: TimeOfUse | None = None
    fixed: tuple[FixedCharge, ...] = ()
    solar_free_per_month: Decimal = Decimal(0)
    vat_inclusive: bool = False
    vat_percent: Decimal | None = None

    @property
    def version_id(self) -> str:
        """The id every charge carries, e.g. ``"Estate domestic@2026-07-01"``."""
        return f"{self.name}@{self.effective_from.isoformat()}"


@dataclass(frozen=True, slots=True)
class TariffSchedule:
    """The versions of one tariff in effective-date order; build it with :meth:`of`."""

    versions: tuple[TariffVersion, ...]

    @classmethod
    def of(cls, versions: list[TariffVersion] | tuple[TariffVersion, ...]) -> TariffSchedule:
        """Order versions by ``effective_from`` and check they can follow one another.

        All versions must share utility, unit, currency and time zone (a meter's month-to-date
        state and its money would otherwise change meaning mid-month); no two may start the same day.
        """
        if not versions:
            raise ScheduleError("a tariff schedule needs at least one version")
        ordered = tuple(sorted(versions, key=lambda v: v.effective_from))
        first = ordered[0]
        for version in ordered[1:]:
            for field in ("utility", "unit", "currency", "timezone"):
                if getattr(version, field) != getattr(first, field):
                    raise ScheduleError(
                        f"version {version.version_id} has {field} {getattr(version, field)!r} but "
                        f"{first.version_id} has {getattr(first, field)!r}; versions of one schedule "
                        f"must agree on {field}"
                    )
        for earlier, later in pairwise(ordered):
            if earlier.effective_from == later.effective_from:
                raise ScheduleError(
                    f"versions {earlier.version_id} and {later.version_id} both start on "
                    f"{later.effective_from.isoformat()}; give each version its own effective_from"
                )
        return cls(versions=ordered)

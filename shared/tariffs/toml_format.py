"""The tariff TOML format (documented in docs/tariffs.md): text in, :class:`TariffVersion` out.

The caller reads the file and passes its text with a source name; every error names that source,
the key path and what was expected.
"""

from __future__ import annotations

import tomllib
import zoneinfo
from decimal import Decimal
from typing import TypeVar

from shared.quantities import BILLING_UNIT, BillingUnit, Utility
from shared.tariffs.calendar_days import DEFAULT_HOLIDAY_COUNTRY, supported_countries
from shared.tariffs.errors import TariffFormatError
from shared.tariffs.model import (
    MINUTES_PER_DAY,
    Band,
    Block,
    ChargePeriod,
    DayType,
    FixedCharge,
    Season,
    TariffVersion,
    TimeOfUse,
    Window,
)
from shared.tariffs.toml_reader import TableReader
from shared.tariffs.tou import band_runs

_TARIFF_KEYS = {
    "name", "utility", "unit", "currency", "timezone", "effective_from", "rate", "blocks", "tou",
    "fixed", "solar_allocation", "vat_inclusive", "vat_percent",
}  # fmt: skip
_MONTHS = frozenset(range(1, 13))
E = TypeVar("E", Utility, BillingUnit)


def parse_tariff(text: str, source: str) -> TariffVersion:
    """Parse one tariff version from TOML ``text``; ``source`` names it in errors (a file path)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise TariffFormatError(source, "(file)", f"not valid TOML: {error}") from None
    unknown = sorted(set(document) - {"tariff"})
    if unknown:
        raise TariffFormatError(source, unknown[0], "unknown top-level key; everything lives under [tariff]")
    tariff = TableReader(source, "", document).sub_table("tariff")
    if tariff is None:
        raise TariffFormatError(source, "tariff", "missing; a tariff file starts with a [tariff] table")
    tariff.check_keys(_TARIFF_KEYS)
    utility = _enum(tariff, "utility", Utility)
    unit = _enum(tariff, "unit", BillingUnit)
    if unit != BILLING_UNIT[utility]:
        raise tariff.fail(
            "unit", f"{utility.value} is priced per {BILLING_UNIT[utility].value}, not {unit.value}"
        )
    blocks = _blocks(tariff)
    tou = _tou(tariff)
    rate = tariff.optional_decimal("rate")
    _check_pricing(tariff, rate=rate, blocks=blocks, tou=tou)
    return TariffVersion(
        name=tariff.text("name"),
        utility=utility,
        unit=unit,
        currency=_currency(tariff),
        timezone=_timezone(tariff),
        effective_from=tariff.day("effective_from"),
        rate=rate,
        blocks=blocks,
        tou=tou,
        fixed=_fixed(tariff),
        solar_free_per_month=_solar(tariff),
        vat_inclusive=tariff.boolean("vat_inclusive", default=False),
        vat_percent=tariff.optional_decimal("vat_percent"),
    )


def _enum(table: TableReader, key: str, kind: type[E]) -> E:
    value = table.text(key)
    try:
        return kind(value)
    except ValueError:
        allowed = " | ".join(member.value for member in kind)
        raise table.fail(key, f"expected one of {allowed}, got {value!r}") from None


def _currency(tariff: TableReader) -> str:
    currency = tariff.text("currency")
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise tariff.fail("currency", f"expected a three-letter ISO 4217 code such as ZAR, got {currency!r}")
    return currency


def _timezone(tariff: TableReader) -> str:
    name = tariff.text("timezone")
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise tariff.fail(
            "timezone", f"expected an IANA time zone such as Africa/Johannesburg, got {name!r}"
        ) from None
    return name


def _check_pricing(
    tariff: TableReader, *, rate: Decimal | None, blocks: tuple[Block, ...], tou: TimeOfUse | None
) -> None:
    if rate is not None and (blocks or tou):
        raise tariff.fail("rate", "a flat rate cannot be combined with blocks or time-of-use; remove one")
    if rate is None and not blocks and tou is None:
        raise tariff.fail(None, "no pricing: set rate (flat), [[tariff.blocks]] or [tariff.tou]")


def _blocks(tariff: TableReader) -> tuple[Block, ...]:
    entries = list(tariff.array_of_tables("blocks"))
    blocks: list[Block] = []
    for number, entry in enumerate(entries, start=1):
        entry.check_keys({"up_to", "rate"})
        up_to = entry.optional_decimal("up_to")
        is_last = number == len(entries)
        if is_last and up_to is not None:
            raise entry.fail("up_to", f"block {number} is the last block: omit up_to so it has no limit")
        if not is_last and up_to is None:
            raise entry.fail("up_to", f"missing on block {number}; only the last block has no limit")
        previous = blocks[-1].up_to if blocks else Decimal(0)
        if up_to is not None and previous is not None and up_to <= previous:
            raise entry.fail(
                "up_to",
                f"block {number} ends at {up_to}, not above {previous} where the block before "
                "it ends; block limits must increase",
            )
        blocks.append(Block(up_to=up_to, rate=entry.decimal("rate")))
    return tuple(blocks)


def _fixed(tariff: TableReader) -> tuple[FixedCharge, ...]:
    charges: list[FixedCharge] = []
    for entry in tariff.array_of_tables("fixed"):
        entry.check_keys({"name", "amount", "per"})
        name = entry.text("name")
        if any(charge.name == name for charge in charges):
            raise entry.fail(
                "name", f"a fixed charge named {name!r} is already defined; names must be unique"
            )
        per = entry.text("per")
        if per not in {p.value for p in ChargePeriod}:
            raise entry.fail("per", f"expected day | month, got {per!r}")
        charges.append(FixedCharge(name=name, amount=entry.decimal("amount"), per=ChargePeriod(per)))
    return tuple(charges)


def _solar(tariff: TableReader) -> Decimal:
    table = tariff.sub_table("solar_allocation")
    if table is None:
        return Decimal(0)
    table.check_keys({"free_per_month"})
    return table.decimal("free_per_month")


def _tou(tariff: TableReader) -> TimeOfUse | None:
    table = tariff.sub_table("tou")
    if table is None:
        return None
    table.check_keys({"bands", "windows", "seasons", "holiday_country"})
    bands = _bands(table)
    seasons = _seasons(table, {band.name for band in bands})
    _check_band_rates(table, bands, seasons)
    country = table.optional_text("holiday_country", DEFAULT_HOLIDAY_COUNTRY)
    if country not in supported_countries():
        raise table.fail(
            "holiday_country", f"expected an ISO country code the holiday calendar knows, got {country!r}"
        )
    windows = tuple(_windows(table, {b.name for b in bands}, {s.name for s in seasons}))
    tou = TimeOfUse(bands=bands, windows=windows, seasons=seasons, holiday_country=country)
    band_runs(tou, tariff.source)
    return tou


def _bands(table: TableReader) -> tuple[Band, ...]:
    bands: list[Band] = []
    for entry in table.array_of_tables("bands"):
        entry.check_keys({"name", "rate"})
        name = entry.text("name")
        if any(band.name == name for band in bands):
            raise entry.fail("name", f"a band named {name!r} is already defined; names must be unique")
        bands.append(Band(name=name, rate=entry.optional_decimal("rate")))
    if not bands:
        raise table.fail("bands", "missing; time-of-use needs at least one [[tariff.tou.bands]]")
    return tuple(bands)


def _seasons(table: TableReader, band_names: set[str]) -> tuple[Season, ...]:
    seasons: list[Season] = []
    claimed: dict[int, str] = {}
    for entry in table.array_of_tables("seasons"):
        entry.check_keys({"name", "months", "rates"})
        name = entry.text("name")
        months = entry.int_list("months")
        for month in months:
            if month not in _MONTHS:
                raise entry.fail("months", f"expected months 1–12, got {month}")
            if month in claimed:
                raise entry.fail("months", f"month {month} already belongs to season '{claimed[month]}'")
            claimed[month] = name
        rates = entry.sub_table("rates")
        pairs: list[tuple[str, Decimal]] = []
        if rates is not None:
            for band in rates.table:
                if band not in band_names:
                    raise rates.fail(
                        band, f"no band named {band!r}; bands are {', '.join(sorted(band_names))}"
                    )
                pairs.append((band, rates.decimal(band)))
        seasons.append(Season(name=name, months=frozenset(months), rates=tuple(pairs)))
    missing = sorted(_MONTHS - set(claimed))
    if seasons and missing:
        raise table.fail(
            "seasons", f"months {missing} belong to no season; seasons must cover all twelve months"
        )
    return tuple(seasons)


def _check_band_rates(table: TableReader, bands: tuple[Band, ...], seasons: tuple[Season, ...]) -> None:
    for index, band in enumerate(bands):
        if band.rate is not None:
            continue
        if not seasons:
            raise table.fail(f"bands[{index}].rate", f"missing; band '{band.name}' needs a rate")
        lacking = [s.name for s in seasons if s.rate_for(band.name) is None]
        if lacking:
            raise table.fail(
                f"bands[{index}].rate",
                f"band '{band.name}' has no rate and seasons {lacking} set none for it; give the band a rate "
                "or set it in every season's rates",
            )


def _windows(table: TableReader, bands: set[str], seasons: set[str]) -> list[Window]:
    windows: list[Window] = []
    for entry in table.array_of_tables("windows"):
        entry.check_keys({"band", "days", "from", "to", "seasons"})
        band = entry.text("band")
        if band not in bands:
            raise entry.fail("band", f"no band named {band!r}; bands are {', '.join(sorted(bands))}")
        days = entry.string_list("days")
        for day in days:
            if day not in {d.value for d in DayType}:
                raise entry.fail("days", f"expected weekday | saturday | sunday | holiday, got {day!r}")
        window_seasons = entry.string_list("seasons") if entry.has("seasons") else []
        for season in window_seasons:
            if season not in seasons:
                raise entry.fail(
                    "seasons", f"no season named {season!r}; seasons are {sorted(seasons) or 'none'}"
                )
        windows.append(
            Window(
                band=band,
                days=frozenset(DayType(day) for day in days),
                start_minute=_minute(entry, "from", allow_end_of_day=False),
                end_minute=_minute(entry, "to", allow_end_of_day=True) % MINUTES_PER_DAY,
                seasons=frozenset(window_seasons),
            )
        )
    if not windows:
        raise table.fail("windows", "missing; time-of-use needs [[tariff.tou.windows]] covering every day")
    return windows


def _minute(entry: TableReader, key: str, *, allow_end_of_day: bool) -> int:
    text = entry.text(key)
    hours, _, minutes = text.partition(":")
    if len(hours) == 2 and len(minutes) == 2 and hours.isdigit() and minutes.isdigit():
        minute = int(hours) * 60 + int(minutes)
        limit = MINUTES_PER_DAY if allow_end_of_day else MINUTES_PER_DAY - 1
        if int(minutes) < 60 and minute <= limit:
            return minute
    latest = "24:00" if allow_end_of_day else "23:59"
    raise entry.fail(key, f"expected a time HH:MM between 00:00 and {latest}, got {text!r}")

"""The tariff TOML format: every example parses, and every kind of mistake is named precisely."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from shared.quantities import BillingUnit, Utility
from shared.tariffs import ChargePeriod, DayType, TariffFormatError, parse_tariff
from tests.unit.tariffs.conftest import EXAMPLES, example_text, example_version

FLAT = example_text("flat")


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.stem)
def test_every_documented_example_parses(path):
    version = parse_tariff(path.read_text(), str(path))
    assert version.version_id == f"{version.name}@{version.effective_from.isoformat()}"


def test_flat_example_reads_rate_fixed_charge_and_vat_display():
    version = example_version("flat")
    assert version.utility is Utility.ELECTRICITY
    assert version.unit is BillingUnit.KWH
    assert version.rate == Decimal("2.8500")
    assert version.effective_from == date(2026, 7, 1)
    assert version.fixed[0].amount == Decimal("5.20")
    assert version.fixed[0].per is ChargePeriod.DAY
    assert version.vat_inclusive and version.vat_percent == Decimal(15)


def test_time_of_use_example_reads_seasons_and_holiday_windows():
    tou = example_version("time_of_use").tou
    assert tou is not None
    assert [s.name for s in tou.seasons] == ["high", "low"]
    assert tou.seasons[0].rate_for("peak") == Decimal("6.1200")
    assert any(DayType.HOLIDAY in w.days for w in tou.windows)
    assert tou.holiday_country == "ZA"


def test_blocks_example_keeps_limits_in_order_with_open_last_block():
    blocks = example_version("inclining_blocks").blocks
    assert [b.up_to for b in blocks] == [Decimal(50), Decimal(350), Decimal(600), None]


def _error(text: str) -> str:
    with pytest.raises(TariffFormatError) as raised:
        parse_tariff(text, "estate/tariff.toml")
    message = str(raised.value)
    assert message.startswith("estate/tariff.toml: "), message
    return message


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('rate = "2.8500"', "rate = 2.85", 'tariff.rate: expected a decimal string such as "2.50"'),
        ('rate = "2.8500"', 'rate = "two"', "tariff.rate: expected a decimal string"),
        ('rate = "2.8500"', 'rate = "-1"', "tariff.rate: expected zero or more"),
        ('rate = "2.8500"', 'rate = "2.1234567"', "tariff.rate: expected at most 6 decimal places"),
        ('unit = "kWh"', 'unit = "kL"', "tariff.unit: electricity is priced per kWh, not kL"),
        ('utility = "electricity"', 'utility = "gas"', "tariff.utility: expected one of electricity | water"),
        ('currency = "ZAR"', 'currency = "rand"', "tariff.currency: expected a three-letter ISO 4217 code"),
        ('timezone = "Africa/Johannesburg"', 'timezone = "Mars/Base"', "tariff.timezone: expected an IANA"),
        ("effective_from = 2026-07-01", 'effective_from = "July"', "tariff.effective_from: expected a date"),
        ('name = "Estate domestic flat"\n', "", "tariff.name: missing; this key is required"),
        ('rate = "2.8500"', 'rates = "2.8500"', "tariff.rates: unknown key"),
        ('per = "day"', 'per = "week"', "tariff.fixed[0].per: expected day | month"),
        ('rate = "2.8500"', "", "tariff: no pricing: set rate (flat)"),
    ],
)
def test_mistakes_name_the_key_path_and_what_was_expected(old, new, expected):
    assert old in FLAT
    assert expected in _error(FLAT.replace(old, new))


def test_invalid_toml_names_the_file():
    assert "not valid TOML" in _error("[tariff\nname = 1")


def test_missing_tariff_table_is_explained():
    assert "tariff: missing; a tariff file starts with a [tariff] table" in _error("")
    assert "name: unknown top-level key; everything lives under [tariff]" in _error('name = "x"\n')


BLOCKS = example_text("inclining_blocks")


def test_non_increasing_blocks_name_the_block():
    message = _error(BLOCKS.replace('up_to = "350"', 'up_to = "40"'))
    assert "tariff.blocks[1].up_to: block 2 ends at 40, not above 50" in message


def test_last_block_with_a_limit_is_refused():
    text = BLOCKS.replace('rate = "3.6900"', 'up_to = "900"\nrate = "3.6900"')
    assert "tariff.blocks[3].up_to: block 4 is the last block: omit up_to" in _error(text)


def test_middle_block_without_limit_is_refused():
    text = BLOCKS.replace('up_to = "350"\n', "")
    assert "tariff.blocks[1].up_to: missing on block 2" in _error(text)


def test_flat_rate_and_blocks_together_are_refused():
    text = BLOCKS.replace("effective_from = 2026-07-01", 'effective_from = 2026-07-01\nrate = "1.00"')
    assert "tariff.rate: a flat rate cannot be combined" in _error(text)


TOU = example_text("time_of_use")


def test_overlapping_windows_name_both_bands_and_the_times():
    text = TOU.replace('from = "08:00"\nto = "17:00"', 'from = "08:00"\nto = "18:00"')
    message = _error(text)
    assert "tariff.tou.windows[2]: band 'peak' overlaps band 'standard' (tariff.tou.windows[1])" in message
    assert "weekday 17:00–18:00" in message


def test_missing_window_names_the_day_type_and_the_gap():
    text = TOU.replace('from = "20:00"\nto = "22:00"', 'from = "20:00"\nto = "21:30"')
    message = _error(text)
    assert "tariff.tou.windows: no window covers weekday 21:30–22:00 in season 'high'" in message


def test_holiday_day_type_must_be_covered_too():
    text = TOU.replace('days = ["sunday", "holiday"]', 'days = ["sunday"]')
    assert "no window covers holiday 00:00–24:00" in _error(text)


def test_window_for_an_unknown_band_is_refused():
    text = TOU.replace(
        'band = "peak"\ndays = ["weekday"]\nfrom = "06:00"',
        'band = "evening"\ndays = ["weekday"]\nfrom = "06:00"',
    )
    assert "tariff.tou.windows[0].band: no band named 'evening'" in _error(text)


@pytest.mark.parametrize("bad", ["6:00", "25:00", "06:60", "24:00"])
def test_from_must_be_a_time_of_day(bad):
    text = TOU.replace('from = "06:00"', f'from = "{bad}"')
    assert "tariff.tou.windows[0].from: expected a time HH:MM between 00:00 and 23:59" in _error(text)


def test_seasons_must_cover_every_month_once():
    assert "months [12] belong to no season" in _error(TOU.replace("10, 11, 12]", "10, 11]"))
    assert "month 6 already belongs to season 'high'" in _error(TOU.replace("[1, 2, 3", "[6, 1, 2, 3"))


def test_band_without_any_rate_is_refused():
    text = TOU.replace('rates = { peak = "3.3400", standard', "rates = { standard")
    assert "band 'peak' has no rate and seasons ['low'] set none for it" in _error(text)


def test_unknown_holiday_country_is_refused():
    text = TOU.replace('holiday_country = "ZA"', 'holiday_country = "XX"')
    assert "tariff.tou.holiday_country: expected an ISO country code" in _error(text)

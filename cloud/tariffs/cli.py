"""``quantify-cloud tariff rate TARIFF.toml READINGS.csv [--json]``: rate register readings.

The file reading and printing live here; parsing and rating are the shared, pure code the gateway
runs too, so this command shows exactly what a meter with these readings would be charged.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from pathlib import Path
from typing import Any

from cloud.errors import ValidationFailed
from shared.money import ZERO, format_cents
from shared.quantities import base_units, billing_units
from shared.tariffs import (
    Charge,
    MonthToDate,
    RatingError,
    TariffError,
    TariffSchedule,
    TariffVersion,
    charges_to_cents,
    compile_tariff,
    parse_tariff,
    rate_interval,
)


class ReadingsFileError(ValidationFailed):
    """A readings CSV that cannot be rated; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Reading:
    """One register reading: when, the register in the tariff's unit, and where it came from."""

    at: datetime
    register: Decimal
    line: int


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``tariff`` command and its ``rate`` sub-command to ``quantify-cloud``."""
    tariff = subparsers.add_parser(
        "tariff", help="work with tariff files", description="Work with tariff files."
    )
    commands = tariff.add_subparsers(dest="tariff_command", required=True, metavar="SUBCOMMAND")
    rate = commands.add_parser(
        "rate",
        help="rate a CSV of register readings against a tariff",
        description=(
            "Rate a CSV of 'timestamp,register' rows (ISO 8601 with UTC offset; register in the tariff's "
            "unit, kWh or kL) against a tariff file, and print the charges."
        ),
    )
    rate.add_argument(
        "tariff", type=Path, metavar="TARIFF.toml", help="the tariff file (see docs/tariffs.md)"
    )
    rate.add_argument("readings", type=Path, metavar="READINGS.csv", help="timestamp,register rows")
    rate.add_argument("--json", action="store_true", help="print JSON instead of a table")
    rate.add_argument(
        "--version-file",
        type=Path,
        action="append",
        default=[],
        metavar="VERSION.toml",
        help="another effective-dated version of the same tariff (repeatable)",
    )
    rate.set_defaults(handler=run_rate)


def run_rate(args: argparse.Namespace) -> int:
    """Rate the readings and print the charges; exit status 0, or 1 with a message on stderr."""
    try:
        versions = [_load_version(path) for path in [args.tariff, *args.version_file]]
        schedule = TariffSchedule.of(versions)
        readings = list(read_readings(_read_text(args.readings), str(args.readings)))
        charges, cents = rate_readings(schedule, readings, str(args.readings))
    except (OSError, TariffError, ReadingsFileError) as error:
        print(f"quantify-cloud tariff rate: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(charges_json(charges, cents), indent=2))
    else:
        print(charges_table(schedule.versions[0], charges, cents))
    return 0


def rate_readings(
    schedule: TariffSchedule, readings: list[Reading], source: str
) -> tuple[list[Charge], list[int]]:
    """Rate each interval between consecutive readings; the sub-cent carry runs across all charges.

    An interval the tariff cannot rate is reported against the line of the reading that ends it.
    """
    tariff = compile_tariff(schedule)
    state: MonthToDate | None = None
    charges: list[Charge] = []
    for previous, current in pairwise(readings):
        quantity = base_units(current.register - previous.register)
        try:
            result = rate_interval(tariff, previous.at, current.at, quantity, state)
        except RatingError as error:
            raise ReadingsFileError(f"{source} line {current.line}: {error}") from None
        charges.extend(result.charges)
        state = result.state
    cents, _ = charges_to_cents(charges, ZERO)
    return charges, cents


def read_readings(text: str, source: str) -> Iterator[Reading]:
    """Parse ``timestamp,register`` rows (an optional header row is skipped), checking their order."""
    previous: Reading | None = None
    rows = csv.reader(text.splitlines())
    count = 0
    for row in rows:
        line = rows.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if previous is None and row[0].strip().lower() == "timestamp":
            continue
        reading = _reading(row, source, line)
        if previous is not None:
            _check_order(previous, reading, source)
        previous = reading
        count += 1
        yield reading
    if count < 2:
        raise ReadingsFileError(f"{source}: found {count} reading(s); rating needs at least two")


def _reading(row: list[str], source: str, line: int) -> Reading:
    if len(row) != 2:
        raise ReadingsFileError(
            f"{source} line {line}: expected 2 columns timestamp,register, got {len(row)}"
        )
    stamp, register = (cell.strip() for cell in row)
    try:
        at = datetime.fromisoformat(stamp)
    except ValueError:
        at = None
    if at is None or at.utcoffset() is None:
        raise ReadingsFileError(
            f"{source} line {line}: expected an ISO 8601 timestamp with a UTC offset such as "
            f"2026-07-01T00:15:00+02:00, got {stamp!r}"
        )
    try:
        value = Decimal(register)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value < 0:
        raise ReadingsFileError(
            f"{source} line {line}: expected a register value such as 1234.567, got {register!r}"
        )
    return Reading(at=at, register=value, line=line)


def _check_order(previous: Reading, reading: Reading, source: str) -> None:
    if reading.at <= previous.at:
        raise ReadingsFileError(
            f"{source} line {reading.line}: timestamp {reading.at.isoformat()} is not after "
            f"{previous.at.isoformat()} on line {previous.line}; readings must be in time order"
        )
    if reading.register < previous.register:
        raise ReadingsFileError(
            f"{source} line {reading.line}: register {reading.register} is below {previous.register} on line "
            f"{previous.line}; a register never goes backwards (a replaced or rolled-over meter is an "
            "explicit event, not a reading)"
        )


def charges_json(charges: list[Charge], cents: list[int]) -> dict[str, Any]:
    """The ``--json`` document: each charge with its whole cents, and the total."""
    return {
        "charges": [
            {
                "start": charge.start.isoformat(),
                "end": charge.end.isoformat(),
                "quantity": _quantity_text(charge.quantity),
                "band": charge.band,
                "amount_cents": amount,
            }
            for charge, amount in zip(charges, cents, strict=True)
        ],
        "total_cents": sum(cents),
    }


def charges_table(version: TariffVersion, charges: list[Charge], cents: list[int]) -> str:
    """A table for people: one line per charge (quantities shown to three decimals), then the total."""
    vat = (
        f"; rates include VAT at {version.vat_percent}%"
        if version.vat_inclusive and version.vat_percent
        else ""
    )
    unit = version.unit.value
    lines = [
        f"Tariff {version.name} ({version.utility.value}, {version.currency} per {unit}{vat})",
        f"{'start':<26}{'end':<26}{'quantity ' + unit:>16}  {'band':<24}{'version':<34}{'amount':>14}",
    ]
    for charge, amount in zip(charges, cents, strict=True):
        quantity = billing_units(charge.quantity)
        lines.append(
            f"{charge.start.isoformat():<26}{charge.end.isoformat():<26}{quantity:>16.3f}  {charge.band:<24}"
            f"{charge.tariff_version:<34}{format_cents(amount, version.currency):>14}"
        )
    lines.append(f"{'Total':<126}{format_cents(sum(cents), version.currency):>14}")
    return "\n".join(lines)


def _quantity_text(base_quantity: Decimal) -> str:
    return format(billing_units(base_quantity), "f")


def _load_version(path: Path) -> TariffVersion:
    return parse_tariff(_read_text(path), str(path))


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise OSError(f"cannot read {path}: {error.strerror or error}") from None

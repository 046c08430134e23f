"""Typed access to a parsed TOML table, so every error names the file and the key path.

Floats are refused wherever a number means money or a quantity: ``0.1`` in TOML is a binary float,
not one tenth, so rates and quantities are written as decimal strings (``"2.8763"``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from shared.money import MoneyError, parse_amount
from shared.tariffs.errors import TariffFormatError

#: Rates and amounts carry at most this many decimal places (R 0.000001); more is a typo.
MAX_DECIMAL_PLACES = 6


@dataclass(frozen=True, slots=True)
class TableReader:
    """One TOML table at ``path`` inside the file ``source``."""

    source: str
    path: str
    table: dict[str, Any]

    def fail(self, key: str | None, problem: str) -> TariffFormatError:
        """An error about ``key`` of this table (or the table itself when ``key`` is ``None``)."""
        return TariffFormatError(self.source, self.key_path(key), problem)

    def key_path(self, key: str | None) -> str:
        """The dotted path of ``key`` in the file, e.g. ``tariff.blocks[1].rate``."""
        if key is None:
            return self.path
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        """Whether the table sets ``key``."""
        return key in self.table

    def check_keys(self, allowed: set[str]) -> None:
        """Refuse keys the format does not define: a misspelt key must not be silently ignored."""
        unknown = sorted(set(self.table) - allowed)
        if unknown:
            raise self.fail(unknown[0], f"unknown key; expected one of {', '.join(sorted(allowed))}")

    def text(self, key: str) -> str:
        """A required non-empty string."""
        value = self._required(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"expected a non-empty string, got {value!r}")
        return value.strip()

    def optional_text(self, key: str, default: str) -> str:
        """A string that may be omitted."""
        return self.text(key) if key in self.table else default

    def boolean(self, key: str, default: bool) -> bool:
        """A ``true``/``false`` that may be omitted."""
        value = self.table.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {value!r}")
        return value

    def day(self, key: str) -> date:
        """A required TOML date such as ``2026-07-01`` (bare, or as a quoted string)."""
        value = self._required(key)
        if isinstance(value, str) and _is_iso_date(value):
            value = date.fromisoformat(value)
        if not isinstance(value, date) or hasattr(value, "hour"):
            raise self.fail(key, f"expected a date such as 2026-07-01, got {value!r}")
        return value

    def decimal(self, key: str) -> Decimal:
        """A required non-negative decimal string (an integer is accepted, a float is not)."""
        value = self._required(key)
        where = self.key_path(key)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, float):
            raise self.fail(
                key, f'expected a decimal string such as "2.50" (quoted, so it is exact), got {value!r}'
            )
        try:
            number = parse_amount(value, where=where)
        except MoneyError as error:
            raise self.fail(key, str(error).removeprefix(f"{where}: ")) from None
        if number < 0:
            raise self.fail(key, f"expected zero or more, got {value!r}")
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -MAX_DECIMAL_PLACES:
            raise self.fail(key, f"expected at most {MAX_DECIMAL_PLACES} decimal places, got {value!r}")
        return number

    def optional_decimal(self, key: str) -> Decimal | None:
        """A decimal that may be omitted."""
        return self.decimal(key) if key in self.table else None

    def string_list(self, key: str) -> list[str]:
        """A required non-empty list of strings."""
        value = self._required(key)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise self.fail(key, f"expected a non-empty list of strings, got {value!r}")
        return value

    def int_list(self, key: str) -> list[int]:
        """A required non-empty list of integers."""
        value = self._required(key)
        if not isinstance(value, list) or not value or not all(type(v) is int for v in value):
            raise self.fail(key, f"expected a non-empty list of integers, got {value!r}")
        return value

    def sub_table(self, key: str) -> TableReader | None:
        """A nested ``[table]``, or ``None`` when absent."""
        if key not in self.table:
            return None
        value = self.table[key]
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a table ([{self.key_path(key)}]), got {value!r}")
        return TableReader(self.source, self.key_path(key), value)

    def array_of_tables(self, key: str) -> Iterator[TableReader]:
        """Each entry of a ``[[array]]`` of tables (nothing when absent)."""
        value = self.table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise self.fail(key, f"expected an array of tables ([[{self.key_path(key)}]]), got {value!r}")
        for index, item in enumerate(value):
            yield TableReader(self.source, f"{self.key_path(key)}[{index}]", item)

    def _required(self, key: str) -> Any:
        if key not in self.table:
            raise self.fail(key, "missing; this key is required")
        return self.table[key]


def _is_iso_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True

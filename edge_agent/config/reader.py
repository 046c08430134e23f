"""Typed reads from the parsed ``edge.toml``, each failure naming the file, key path and expectation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, TypeVar

from edge_agent.errors import ConfigError

E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class Section:
    """One table of the config file at a dotted key path (``meters[2]``)."""

    source: str
    path: str
    table: dict[str, Any]

    def fail(self, key: str | None, expected: str, got: object = None) -> ConfigError:
        where = self.path if key is None else (f"{self.path}.{key}" if self.path else key)
        found = "" if got is None else f", got {got!r}"
        return ConfigError(f"{self.source}: {where}: expected {expected}{found}")

    def check_keys(self, allowed: set[str]) -> None:
        """A misspelt key is an error, not a silently ignored setting."""
        unknown = sorted(set(self.table) - allowed)
        if unknown:
            raise self.fail(unknown[0], f"one of the keys {', '.join(sorted(allowed))} (unknown key)")

    def text(self, key: str, default: str | None = None) -> str:
        value = self.table.get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "a non-empty string", value)
        return value.strip()

    def optional_text(self, key: str) -> str | None:
        return self.text(key) if key in self.table else None

    def integer(self, key: str, default: int | None = None, *, low: int, high: int) -> int:
        value = self.table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(key, f"a whole number from {low} to {high}", value)
        return value

    def positive_decimal(self, key: str) -> Decimal | None:
        """A decimal written as a string (a TOML float is not exact), or ``None`` when absent."""
        if key not in self.table:
            return None
        value = self.table[key]
        try:
            number = Decimal(value) if isinstance(value, str) else None
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or number <= 0:
            raise self.fail(key, 'a positive decimal written as a string, e.g. "10"', value)
        return number

    def choice(self, key: str, kind: type[E], default: E | None = None) -> E:
        value = self.table.get(key, default)
        try:
            return kind(str(value))
        except ValueError:
            raise self.fail(key, f"one of {', '.join(m.value for m in kind)}", value) from None

    def section(self, key: str, *, required: bool = False) -> Section:
        value = self.table.get(key)
        if value is None and not required:
            value = {}
        if not isinstance(value, dict):
            raise self.fail(key, "a table", value)
        return Section(self.source, f"{self.path}.{key}" if self.path else key, value)

    def sections(self, key: str) -> Iterator[Section]:
        """The tables of an array of tables (``[[meters]]``), each with its index in the path."""
        value = self.table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise self.fail(key, "an array of tables ([[" + key + "]])", value)
        for index, item in enumerate(value):
            yield Section(self.source, f"{key}[{index}]", item)

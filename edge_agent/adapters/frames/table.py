"""A small reader for the bridges' TOML tables that names the key path in every refusal."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path

from edge_agent.adapters.frames.errors import RadioSettingsError

_MISSING = object()


class Table:
    """One TOML table (already parsed) and where it sits, e.g. ``edge.toml: lorawan.devices[2]``."""

    def __init__(self, source: str, path: str, data: object) -> None:
        if not isinstance(data, Mapping):
            raise RadioSettingsError(f"{source}: at {path}: expected a table, got {data!r}")
        self.source = source
        self.path = path
        self.data: Mapping[str, object] = data

    def fail(self, key: str, expected: str, got: object = _MISSING) -> RadioSettingsError:
        """An error naming the file, the key path and what was expected."""
        found = "nothing" if got is _MISSING else repr(got)
        return RadioSettingsError(f"{self.source}: at {self.path}.{key}: expected {expected}, got {found}")

    def check_keys(self, allowed: Iterable[str]) -> None:
        """Refuse keys this table does not have (typos must not pass silently)."""
        unknown = sorted(set(self.data) - set(allowed))
        if unknown:
            raise self.fail(unknown[0], f"one of {', '.join(sorted(allowed))}", unknown[0])

    def _get(self, key: str, default: object) -> object:
        value = self.data.get(key, default)
        if value is _MISSING:
            raise self.fail(key, "a value")
        return value

    def text(self, key: str, default: object = _MISSING) -> str:
        value = self._get(key, default)
        if not isinstance(value, str) or not value:
            raise self.fail(key, "a non-empty string", value)
        return value

    def optional_text(self, key: str) -> str | None:
        return None if key not in self.data else self.text(key)

    def integer(self, key: str, default: object = _MISSING, *, low: int, high: int) -> int:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(key, f"an integer from {low} to {high}", value)
        return value

    def optional_integer(self, key: str, *, low: int, high: int) -> int | None:
        return None if key not in self.data else self.integer(key, low=low, high=high)

    def seconds(self, key: str, default: float, *, low: float, high: float) -> float:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise self.fail(key, f"a number of seconds from {low:g} to {high:g}", value)
        return float(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, "true or false", value)
        return value

    def positive_decimal(self, key: str) -> Decimal | None:
        """A decimal given as a string (a TOML float is not exact), or ``None`` when absent."""
        if key not in self.data:
            return None
        value = self.data[key]
        try:
            number = Decimal(value) if isinstance(value, str | int) and not isinstance(value, bool) else None
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or number <= 0:
            raise self.fail(key, 'a positive decimal as a string (e.g. "10")', value)
        return number

    def path_value(self, key: str, base: Path) -> Path | None:
        """A file or folder path, relative to ``base`` (the config file's folder) unless absolute."""
        text = self.optional_text(key)
        return None if text is None else base / text

    def text_list(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            raise self.fail(key, "a list of non-empty strings", value)
        return tuple(value)

    def tables(self, key: str) -> list[Table]:
        """An array of tables (``[[lorawan.devices]]``); empty when absent."""
        value = self.data.get(key, [])
        if not isinstance(value, list):
            raise self.fail(key, "an array of tables", value)
        return [Table(self.source, f"{self.path}.{key}[{index}]", item) for index, item in enumerate(value)]


def refuse_duplicates(tables: list[Table], key: str, values: list[str]) -> None:
    """Two entries naming the same meter or device would make readings ambiguous."""
    seen: set[str] = set()
    for table, value in zip(tables, values, strict=True):
        if value in seen:
            raise table.fail(key, "a value no other entry uses", value)
        seen.add(value)

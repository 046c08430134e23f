"""The one error hierarchy of tariffs and rating."""

from __future__ import annotations


class TariffError(ValueError):
    """Anything wrong with a tariff or with a request to rate against one."""


class TariffFormatError(TariffError):
    """A tariff file that cannot be understood: names the file, the key path and what was expected."""

    def __init__(self, source: str, key_path: str, problem: str) -> None:
        super().__init__(f"{source}: {key_path}: {problem}")
        self.source = source
        self.key_path = key_path
        self.problem = problem


class ScheduleError(TariffError):
    """Tariff versions that cannot form one effective-dated schedule."""


class RatingError(TariffError):
    """An interval that cannot be rated (ends before it starts, negative quantity, no tariff yet)."""

"""Shared helpers: the example tariff files (the same ones docs/tariffs.md shows) and SAST times."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from shared.tariffs import CompiledTariff, TariffSchedule, TariffVersion, compile_tariff, parse_tariff
from tests.support.paths import REPO_ROOT

EXAMPLES = REPO_ROOT / "examples" / "tariffs"
SAST = ZoneInfo("Africa/Johannesburg")


def sast(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A South African local time."""
    return datetime(year, month, day, hour, minute, tzinfo=SAST)


def example_version(name: str) -> TariffVersion:
    """One example file parsed."""
    path = EXAMPLES / f"{name}.toml"
    return parse_tariff(path.read_text(), str(path))


def example_text(name: str) -> str:
    """One example file's text, for tests that edit it."""
    return (EXAMPLES / f"{name}.toml").read_text()


@pytest.fixture
def compiled() -> Callable[[str], CompiledTariff]:
    """Compile an example tariff by file stem."""

    def build(name: str) -> CompiledTariff:
        return compile_tariff(TariffSchedule.of([example_version(name)]))

    return build

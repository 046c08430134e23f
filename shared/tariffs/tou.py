"""Time-of-use windows → the band of every minute of every (season, day type), checked exactly once.

A tariff file lists windows loosely (a band, some day types, ``from``–``to``, wrapping past
midnight when ``to`` is earlier). Rating needs the opposite view: for one season and day type, the
ordered runs of minutes and their band. Building that view is also the check that every minute is
covered by exactly one window, so a gap or an overlap is reported with the bands and times involved.
"""

from __future__ import annotations

from collections.abc import Iterator

from shared.tariffs.errors import TariffFormatError
from shared.tariffs.model import MINUTES_PER_DAY, DayType, TimeOfUse, Window

#: The season key used when a tariff has no seasons.
ALL_YEAR = ""

#: (first minute, minute after the last, band name), ordered, covering the whole day.
BandRuns = tuple[tuple[int, int, str], ...]


def format_minute(minute: int) -> str:
    """Minutes after midnight as ``HH:MM`` (1440 → ``24:00``)."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


def window_minutes(window: Window) -> Iterator[int]:
    """The minutes of the day a window covers, honouring wrap past midnight and whole-day windows."""
    start, end = window.start_minute, window.end_minute
    if start < end:
        yield from range(start, end)
    else:
        yield from range(start, MINUTES_PER_DAY)
        yield from range(0, end)


def band_runs(tou: TimeOfUse, source: str) -> dict[tuple[str, DayType], BandRuns]:
    """Band runs for every (season name, day type); raises naming any gap or overlap.

    The season name is :data:`ALL_YEAR` when the tariff has no seasons.
    """
    season_names = [season.name for season in tou.seasons] or [ALL_YEAR]
    return {
        (season, day): _runs_for(tou.windows, season, day, source)
        for season in season_names
        for day in DayType
    }


def _applies(window: Window, season: str, day: DayType) -> bool:
    return day in window.days and (not window.seasons or season in window.seasons)


def _where(season: str, day: DayType, start: int, end: int) -> str:
    in_season = f" in season '{season}'" if season else ""
    return f"{day.value} {format_minute(start)}–{format_minute(end)}{in_season}"


def _runs_for(windows: tuple[Window, ...], season: str, day: DayType, source: str) -> BandRuns:
    owner: list[int] = [-1] * MINUTES_PER_DAY
    for index, window in enumerate(windows):
        if not _applies(window, season, day):
            continue
        clashes = [minute for minute in window_minutes(window) if owner[minute] >= 0]
        if clashes:
            other = owner[clashes[0]]
            start, end = _first_run(clashes)
            raise TariffFormatError(
                source,
                f"tariff.tou.windows[{index}]",
                f"band '{window.band}' overlaps band '{windows[other].band}' "
                f"(tariff.tou.windows[{other}]) on {_where(season, day, start, end)}; "
                "every minute of every day type must belong to exactly one band",
            )
        for minute in window_minutes(window):
            owner[minute] = index
    gaps = [minute for minute, index in enumerate(owner) if index < 0]
    if gaps:
        start, end = _first_run(gaps)
        raise TariffFormatError(
            source,
            "tariff.tou.windows",
            f"no window covers {_where(season, day, start, end)}; "
            "every minute of every day type must belong to exactly one band",
        )
    return _merge([windows[index].band for index in owner])


def _first_run(minutes: list[int]) -> tuple[int, int]:
    """The first run of consecutive minutes in an ascending list, as (start, end)."""
    ordered = sorted(minutes)
    end = ordered[0] + 1
    for minute in ordered[1:]:
        if minute != end:
            break
        end += 1
    return ordered[0], end


def _merge(bands: list[str]) -> BandRuns:
    runs: list[tuple[int, int, str]] = []
    start = 0
    for minute in range(1, MINUTES_PER_DAY + 1):
        if minute == MINUTES_PER_DAY or bands[minute] != bands[start]:
            runs.append((start, minute, bands[start]))
            start = minute
    return tuple(runs)

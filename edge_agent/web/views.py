"""How status values read on the page: money, times and ages, relay states, error rates.

Pure functions registered as Jinja filters, so templates stay free of formatting logic and the
wording is tested in one place.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from jinja2 import Environment

from edge_agent.status import RelayView
from shared.money import format_cents

# What each confirmed relay state means to a resident, and the badge style that goes with it.
# Colour is never the only signal: every badge says its state in words.
RELAY_LABELS: dict[RelayView, tuple[str, str]] = {
    RelayView.CLOSED: ("Closed – supply on", "ok"),
    RelayView.OPEN: ("Open – supply off", "bad"),
    RelayView.UNKNOWN: ("Unknown – not confirmed by the meter", "warn"),
    RelayView.NO_RELAY: ("No relay", "neutral"),
}


def money(cents: int | None, currency: str) -> str:
    """A cached balance as money, or a plain statement when the meter has no wallet."""
    if cents is None:
        return "no wallet"
    return format_cents(cents, currency)


def utc_time(moment: datetime | None, never: str = "never") -> str:
    """A timestamp as ``2026-11-22 03:40:12 UTC`` (the gateway's clock is UTC)."""
    if moment is None:
        return never
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def age(moment: datetime | None, now: datetime) -> str:
    """How long before ``now`` a moment was: ``"just now"``, ``"12 s ago"``, ``"3 h ago"``."""
    if moment is None:
        return ""
    seconds = int((now - moment).total_seconds())
    if seconds < 1:
        return "just now"
    for unit_s, name in ((86_400, "d"), (3_600, "h"), (60, "min")):
        if seconds >= unit_s:
            return f"{seconds // unit_s} {name} ago"
    return f"{seconds} s ago"


def percent(rate: float) -> str:
    """An error rate in [0, 1] as a percentage with one decimal."""
    return f"{rate * 100:.1f} %"


def reading(register: Decimal | None, unit: str) -> str:
    """A register value exactly as read, with its unit."""
    if register is None:
        return "no reading yet"
    return f"{register} {unit}"


def relay_label(relay: RelayView) -> str:
    """The relay state in words."""
    return RELAY_LABELS[relay][0]


def relay_tone(relay: RelayView) -> str:
    """The badge style for a relay state (``ok``, ``bad``, ``warn``, ``neutral``)."""
    return RELAY_LABELS[relay][1]


def iso(moment: datetime | None) -> str:
    """RFC 3339 for ``<time datetime=…>``."""
    return "" if moment is None else moment.isoformat()


def register_filters(environment: Environment) -> None:
    """Make the helpers above available to the templates."""
    environment.filters.update(
        money=money,
        utc_time=utc_time,
        age=age,
        percent=percent,
        reading=reading,
        relay_label=relay_label,
        relay_tone=relay_tone,
        iso=iso,
    )

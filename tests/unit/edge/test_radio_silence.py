"""When a radio meter counts as lost: silence longer than a multiple of its uplink interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from edge_agent.config import MeterConfig
from edge_agent.radio import silence_changes
from shared.journal import Pocket
from shared.quantities import Utility

START = datetime(2026, 8, 3, 9, 0, tzinfo=UTC)
SOCKET = MeterConfig(
    id="s1", unit="Unit 1", utility=Utility.ELECTRICITY, profile="milesight-ws52x", bus=None, address=None,
    poll_interval_s=1200, wallet_id="w1", pocket=Pocket.ELECTRICITY, credit_limit_cents=0,
    dev_eui="0101010101010101",
)  # fmt: skip


def changes(heard: datetime | None, lost: set[str], minutes: float) -> list[tuple[bool, str]]:
    last = {} if heard is None else {"s1": heard}
    found = silence_changes([SOCKET], last, lost, since=START, now=START + timedelta(minutes=minutes),
                            multiple=lambda _: 3)  # fmt: skip
    return [(is_lost, detail) for _, is_lost, detail in found]


def test_three_missed_uplinks_make_a_meter_lost_once_counted_from_its_last_frame_or_the_start() -> None:
    assert changes(None, set(), 60) == [], "an hour of silence is three 20-minute uplinks, not more"
    assert changes(None, set(), 61)[0][0] is True
    assert "no frame since 2026-08-03T09:00:00+00:00" in changes(None, set(), 61)[0][1]
    assert changes(START + timedelta(minutes=30), set(), 61) == [], "it sent one half an hour in"
    assert changes(None, {"s1"}, 500) == [], "already lost: no second alarm"


def test_a_lost_meter_that_is_heard_again_is_restored() -> None:
    [(lost, detail)] = changes(START + timedelta(minutes=70), {"s1"}, 71)
    assert lost is False and detail == "lorawan frame received at 2026-08-03T10:10:00+00:00"

"""How one decoded frame becomes readings: history that fills a gap, never anything twice.

Pure functions of ``edge_agent.adapters.frames``; the bridges' tests show the same over the wire.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from edge_agent.adapters.frames import CounterWindow, RecentIds, planned_readings
from firmware_profiles import DecodedUplink, HistoryPoint
from shared.quantities import Measurement

NOW = datetime(2026, 8, 3, 12, 0, tzinfo=UTC)
VOLUME = Measurement.VOLUME_L


def frame(*hours_ago_and_litres: tuple[int, int], device_time: datetime | None = None) -> DecodedUplink:
    history = tuple(
        HistoryPoint(int((NOW - timedelta(hours=h)).timestamp()), VOLUME, Decimal(v))
        for h, v in hours_ago_and_litres
    )
    return DecodedUplink(
        model_id="m", measurements={VOLUME: Decimal(999)}, history=history,
        device_time_unix_s=None if device_time is None else int(device_time.timestamp()),
    )  # fmt: skip


def test_points_in_the_gap_come_first_oldest_first_and_billed_points_are_skipped() -> None:
    decoded = frame((5, 100), (4, 110), (3, 120), (2, 130), (1, 140), (0, 150))
    readings, skipped, repeat = planned_readings(decoded, NOW, last_read_at=NOW - timedelta(hours=4))
    assert [at for at, _ in readings] == [NOW - timedelta(hours=h) for h in (3, 2, 1, 0)]
    assert [values[VOLUME] for _, values in readings] == [120, 130, 140, 999]
    assert skipped == 3 and not repeat, "4 h and 5 h ago were billed; the point at NOW is the frame's own"


def test_a_meter_never_read_has_no_gap_and_a_repeat_frame_feeds_nothing() -> None:
    readings, skipped, _ = planned_readings(frame((2, 1), (1, 2)), NOW, last_read_at=None)
    assert [at for at, _ in readings] == [NOW] and skipped == 2
    readings, _, repeat = planned_readings(frame((1, 2)), NOW, last_read_at=NOW)
    assert readings == [] and repeat


def test_the_device_clock_bounds_the_history_of_a_frame_received_later() -> None:
    device_time = NOW - timedelta(minutes=30)
    decoded = frame((2, 1), (1, 2), (0, 3), device_time=device_time)
    readings, _, _ = planned_readings(decoded, NOW, last_read_at=NOW - timedelta(hours=3))
    assert [at for at, _ in readings] == [NOW - timedelta(hours=2), NOW - timedelta(hours=1), NOW]


def test_a_register_logged_at_the_last_whole_hour_is_read_at_that_hour_not_at_reception() -> None:
    # A W1 sent at 12:58 carries the register it logged at 12:00 as its volume (and as its last point).
    sent = NOW + timedelta(minutes=58)
    w1 = DecodedUplink(
        model_id="m", measurements={VOLUME: Decimal(120)},
        history=tuple(HistoryPoint(int((NOW - timedelta(hours=h)).timestamp()), VOLUME, Decimal(v))
                      for h, v in ((2, 100), (1, 110), (0, 120))),
        device_time_unix_s=int(sent.timestamp()), measured_at_unix_s=int(NOW.timestamp()),
    )  # fmt: skip
    readings, skipped, repeat = planned_readings(w1, sent, last_read_at=NOW - timedelta(hours=2))
    assert readings == [(NOW - timedelta(hours=1), {VOLUME: Decimal(110)}), (NOW, {VOLUME: Decimal(120)})]
    assert skipped == 2 and not repeat, "2 h ago was billed; the point at 12:00 is the frame's own reading"
    # Heard again later in the same hour (or redelivered): the same register at the same hour.
    readings, _, repeat = planned_readings(w1, sent + timedelta(minutes=1), last_read_at=NOW)
    assert readings == [] and repeat


def test_repeat_memories_are_bounded_and_a_rejoin_restarts_the_counters() -> None:
    ids = RecentIds(capacity=2)
    # "b" was the least recently seen when "c" arrived, so it is forgotten.
    assert [ids.seen_before(i) for i in ("a", "b", "a", "c", "b")] == [False, False, True, False, False]
    assert len(ids) == 2
    counters = CounterWindow(per_device=3, devices=2)
    assert [counters.seen_before("d", n) for n in (1, 2, 1, 3, 4, 1)] == [
        False,
        False,
        True,
        False,
        False,
        False,
    ]
    counters.forget("d")
    assert not counters.seen_before("d", 4)
    counters.seen_before("e", 1)
    counters.seen_before("f", 1)  # the least recent device ("d") is forgotten
    assert not counters.seen_before("d", 4)

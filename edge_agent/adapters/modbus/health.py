"""Per-meter communication health, and the transitions the daemon journals.

Pure: the coordinator passes in each outcome and the time. A meter is declared "communication
lost" after ``lost_after_failures`` consecutive failed reads, and "communication restored" on its
first good read after that; each transition is reported exactly once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime

from edge_agent.adapters.modbus.errors import FailureKind


@dataclass(frozen=True, slots=True)
class HealthPolicy:
    """When a meter counts as silent, and how many recent reads the error rate covers."""

    lost_after_failures: int = 3
    window_reads: int = 20

    def __post_init__(self) -> None:
        if self.lost_after_failures < 1 or self.window_reads < 1:
            raise ValueError("lost_after_failures and window_reads must be at least 1")


class TransitionKind(enum.StrEnum):
    """A change in a meter's communication the daemon records as an alarm or its clearing."""

    COMMUNICATION_LOST = "communication_lost"
    COMMUNICATION_RESTORED = "communication_restored"


@dataclass(frozen=True, slots=True)
class HealthTransition:
    """A meter went silent, or answered again; with the failure that tipped it, if any."""

    meter_id: str
    kind: TransitionKind
    at: datetime
    consecutive_failures: int
    failure_kind: FailureKind | None
    detail: str


@dataclass(frozen=True, slots=True)
class MeterHealth:
    """How well a meter has been answering."""

    meter_id: str
    last_good_at: datetime | None = None
    last_failure_at: datetime | None = None
    consecutive_failures: int = 0
    lost: bool = False
    #: Outcomes of the most recent reads, oldest first (True: good), at most ``window_reads``.
    recent: tuple[bool, ...] = ()

    @property
    def error_rate(self) -> float:
        """The share of recent reads that failed (0.0 when nothing was read yet)."""
        if not self.recent:
            return 0.0
        return self.recent.count(False) / len(self.recent)


def record_success(
    health: MeterHealth, at: datetime, policy: HealthPolicy
) -> tuple[MeterHealth, HealthTransition | None]:
    """The health after a good read, and "communication restored" if the meter was lost."""
    transition = None
    if health.lost:
        transition = HealthTransition(
            health.meter_id,
            TransitionKind.COMMUNICATION_RESTORED,
            at,
            health.consecutive_failures,
            None,
            f"meter {health.meter_id} answered again after {health.consecutive_failures} failed reads",
        )
    updated = replace(
        health,
        last_good_at=at,
        consecutive_failures=0,
        lost=False,
        recent=_window(health.recent, True, policy),
    )
    return updated, transition


def record_failure(
    health: MeterHealth, at: datetime, kind: FailureKind, detail: str, policy: HealthPolicy
) -> tuple[MeterHealth, HealthTransition | None]:
    """The health after a failed read, and "communication lost" when the threshold is reached."""
    failures = health.consecutive_failures + 1
    lost_now = not health.lost and failures >= policy.lost_after_failures
    transition = None
    if lost_now:
        transition = HealthTransition(
            health.meter_id,
            TransitionKind.COMMUNICATION_LOST,
            at,
            failures,
            kind,
            f"meter {health.meter_id} failed {failures} reads in a row; last: {detail}",
        )
    updated = replace(
        health,
        last_failure_at=at,
        consecutive_failures=failures,
        lost=health.lost or lost_now,
        recent=_window(health.recent, False, policy),
    )
    return updated, transition


def _window(recent: tuple[bool, ...], outcome: bool, policy: HealthPolicy) -> tuple[bool, ...]:
    return (*recent, outcome)[-policy.window_reads :]

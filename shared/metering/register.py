"""What a billing register is (its spec) and where we last saw it (its state).

A billing register is a meter's cumulative counter in base units (Wh or L) as a ``Decimal`` with
the meter's resolution. Its spec comes from the firmware profile (resolution, declared maximum)
and the installation (the supply's maximum plausible rate). The state is the baseline the next
reading is compared with; it is an immutable value that the gateway stores (msgspec encodes it)
and replays, so every transition is a pure function of (state, reading).
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import msgspec

from shared.metering.errors import MeteringError

_MICROSECONDS_PER_HOUR = Decimal(3_600_000_000)


class RegisterAlarmKind(enum.StrEnum):
    """Why a reading was not billed."""

    REVERSE_REGISTER = "reverse_register"
    IMPLAUSIBLE_JUMP = "implausible_jump"
    OUT_OF_RANGE = "out_of_range"
    STALE_READING = "stale_reading"


class RegisterSpec(msgspec.Struct, frozen=True, kw_only=True):
    """How a billing register counts.

    ``resolution`` is the register's smallest step in base units. ``maximum`` is the highest value
    it displays (as declared by the profile); the next step after it shows 0, so the register
    counts modulo ``maximum + resolution``. ``max_rate_per_h`` is the most the supply can plausibly
    deliver per hour in base units (for energy that is watts: 100 A x 230 V = 23 000 Wh/h); a
    reading that needs more is an alarm, not a bill. ``None`` means not declared / not checked.
    """

    resolution: Decimal
    maximum: Decimal | None = None
    max_rate_per_h: Decimal | None = None

    def __post_init__(self) -> None:
        _require_positive(self.resolution, "resolution")
        if self.maximum is not None:
            _require_positive(self.maximum, "maximum")
            if self.maximum % self.resolution != 0:
                raise MeteringError(
                    f"register maximum {self.maximum} is not a whole number of resolution steps "
                    f"({self.resolution}); declare the last value the register shows before 0"
                )
        if self.max_rate_per_h is not None:
            _require_positive(self.max_rate_per_h, "max_rate_per_h")

    @property
    def modulus(self) -> Decimal | None:
        """The count after which the register shows 0 again (``maximum + resolution``)."""
        return None if self.maximum is None else self.maximum + self.resolution


class RegisterState(msgspec.Struct, frozen=True, kw_only=True):
    """The baseline of one meter's billing register: the last reading that was accepted.

    ``open_alarm`` is the alarm raised by the most recent reading, if it was refused; the
    baseline does not move while readings are refused, and the next accepted reading clears it.
    """

    spec: RegisterSpec
    value: Decimal
    read_at: datetime
    open_alarm: RegisterAlarmKind | None = None

    def __post_init__(self) -> None:
        require_aware(self.read_at, "read_at")
        problem = range_problem(self.spec, self.value)
        if problem:
            raise MeteringError(f"register baseline {problem}")


def start_register(spec: RegisterSpec, value: Decimal, read_at: datetime) -> RegisterState:
    """Start a register's baseline (commissioning, or the new meter after a replacement)."""
    return RegisterState(spec=spec, value=value, read_at=read_at)


def supply_max_rate_per_h(current_a: Decimal, voltage_v: Decimal = Decimal(230), phases: int = 1) -> Decimal:
    """The largest energy per hour (Wh/h, i.e. W) a supply can deliver: ``phases x V x A``.

    ``supply_max_rate_per_h(Decimal(100))`` → 23 000, a 100 A single-phase supply.
    """
    if phases not in (1, 3):
        raise MeteringError(f"phases: expected 1 or 3, got {phases!r}")
    _require_positive(current_a, "current_a")
    _require_positive(voltage_v, "voltage_v")
    return current_a * voltage_v * phases


def range_problem(spec: RegisterSpec, value: Decimal) -> str | None:
    """Describe why ``value`` cannot be a reading of this register, or ``None`` if it can."""
    if not isinstance(value, Decimal) or not value.is_finite():
        return f"value {value!r} is not a finite Decimal"
    if value < 0:
        return f"value {value} is negative"
    if spec.maximum is not None and value > spec.maximum:
        return f"value {value} is above the register's declared maximum {spec.maximum}"
    return None


def hours_between(earlier: datetime, later: datetime) -> Decimal:
    """Exact elapsed hours from ``earlier`` to ``later`` (no float rounding)."""
    elapsed = later - earlier
    microseconds = (elapsed.days * 86_400 + elapsed.seconds) * 1_000_000 + elapsed.microseconds
    return Decimal(microseconds) / _MICROSECONDS_PER_HOUR


def require_aware(moment: datetime, name: str) -> None:
    """Refuse a naive datetime: readings from different meters must compare as instants."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise MeteringError(f"{name}: expected a timezone-aware datetime, got naive {moment.isoformat()}")


def _require_positive(value: Decimal, name: str) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        raise MeteringError(f"{name}: expected a positive finite Decimal, got {value!r}")

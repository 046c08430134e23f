"""What a simulated meter measures: a load (optionally following a daily shape) and its counters.

Pure state and arithmetic, no I/O: the server asks a :class:`SimulatedMeter` for its values at a
given (simulated) time. Energy is integrated exactly in ``Decimal`` over the load, piecewise
constant per hour of the shape, and stops while the relay is open.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal

from firmware_profiles import Profile
from shared.quantities import Measurement

_SECONDS_PER_HOUR = Decimal(3600)
_HOUR = timedelta(hours=1)
NOMINAL_VOLTAGE_V = Decimal("230.5")
NOMINAL_FREQUENCY_HZ = Decimal(50)
LOADED_POWER_FACTOR = Decimal("0.97")


@dataclass(frozen=True, slots=True)
class LoadShape:
    """Hourly multipliers of a meter's nominal load, by local hour of day (24 values)."""

    hourly_factors: tuple[Decimal, ...]
    tz: tzinfo = UTC

    def __post_init__(self) -> None:
        if len(self.hourly_factors) != 24 or any(f < 0 for f in self.hourly_factors):
            raise ValueError("a load shape has 24 non-negative hourly factors")

    def factor_at(self, when: datetime) -> Decimal:
        """The multiplier in force at ``when`` (its local hour)."""
        return self.hourly_factors[when.astimezone(self.tz).hour]

    @classmethod
    def flat(cls) -> LoadShape:
        """The nominal load around the clock."""
        return cls(tuple(Decimal(1) for _ in range(24)))

    @classmethod
    def residential(cls, tz: tzinfo = UTC) -> LoadShape:
        """A household's day: low at night, a morning bump, an evening peak (geyser, cooking)."""
        factors = (
            "0.3 0.25 0.25 0.25 0.3 0.6 1.2 1.4 1.0 0.7 0.6 0.6 "  # 00:00–11:59
            "0.6 0.6 0.6 0.7 0.9 1.4 1.8 1.9 1.6 1.2 0.8 0.5"  # 12:00–23:59
        )
        return cls(tuple(Decimal(f) for f in factors.split()), tz)


@dataclass(frozen=True, slots=True)
class SimClock:
    """Simulated wall time: ``start`` plus real elapsed time times ``speedup``.

    ``speedup`` > 1 lets a demo show a day's consumption in minutes.
    """

    start: datetime = field(default_factory=lambda: datetime.now(UTC))
    speedup: float = 1.0
    started_monotonic_s: float = field(default_factory=time.monotonic)

    def now(self) -> datetime:
        """The simulated time now."""
        elapsed_s = (time.monotonic() - self.started_monotonic_s) * self.speedup
        return self.start + timedelta(seconds=elapsed_s)

    @classmethod
    def sharing_epoch(cls, epoch_s: float, speedup: float) -> SimClock:
        """The clock a gateway agent runs with the same test-clock epoch and rate.

        Both then read ``epoch + (real time − epoch) × speedup``, so the meters consume along the
        agent's timeline: a simulated hour of load is billed as an hour (see
        ``edge_agent/config/test_clock.py``).
        """
        real_elapsed_s = time.time() - epoch_s
        return cls(
            start=datetime.fromtimestamp(epoch_s, UTC),
            speedup=speedup,
            started_monotonic_s=time.monotonic() - real_elapsed_s,
        )


class SimulatedMeter:
    """One meter on the simulated bus: its unit address, model, load, relay and counters."""

    def __init__(
        self,
        unit: int,
        profile: Profile,
        *,
        load_w: Decimal,
        at: datetime,
        energy_import_wh: Decimal = Decimal(1_234_500),
        shape: LoadShape | None = None,
    ) -> None:
        if not 1 <= unit <= 247:
            raise ValueError(f"unit address {unit} is outside Modbus' 1–247")
        if load_w < 0:
            raise ValueError(f"unit {unit}: load must not be negative, got {load_w} W")
        self.unit = unit
        self.profile = profile
        self.load_w = load_w
        self.shape = shape or LoadShape.flat()
        self.relay_closed = True
        self.energy_import_wh = energy_import_wh
        self._integrated_to = at

    def advance(self, now: datetime) -> None:
        """Add the energy consumed since the last call, hour segment by hour segment."""
        at = self._integrated_to
        while at < now:
            # Segments end on the hour so each is rated at a single factor of the shape.
            next_hour = (at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)) + _HOUR
            end = min(now, next_hour)
            self.energy_import_wh += self._power_at(at) * _seconds(end - at) / _SECONDS_PER_HOUR
            at = end
        self._integrated_to = max(self._integrated_to, now)

    def set_load(self, now: datetime, load_w: Decimal, shape: LoadShape | None = None) -> None:
        """Change the nominal load (and shape) from ``now`` on; energy so far is kept."""
        if load_w < 0:
            raise ValueError(f"unit {self.unit}: load must not be negative, got {load_w} W")
        self.advance(now)
        self.load_w = load_w
        if shape is not None:
            self.shape = shape

    def set_relay(self, now: datetime, closed: bool) -> None:
        """Switch the relay; energy stops advancing while it is open."""
        self.advance(now)
        self.relay_closed = closed

    def values(self, now: datetime) -> dict[Measurement, Decimal]:
        """Every measurement the meter's profile maps, as the meter shows it at ``now``."""
        self.advance(now)
        power = self._power_at(now)
        all_values = _electrical_values(power, self.energy_import_wh)
        return {m: all_values[m] for m in self.profile.fields if m in all_values}

    def _power_at(self, when: datetime) -> Decimal:
        return self.load_w * self.shape.factor_at(when) if self.relay_closed else Decimal(0)


def _seconds(span: timedelta) -> Decimal:
    # Exact to the microsecond: timedelta.total_seconds() would go through a float.
    return Decimal(span.days * 86_400 + span.seconds) + Decimal(span.microseconds) / 1_000_000


def _electrical_values(power_w: Decimal, energy_import_wh: Decimal) -> dict[Measurement, Decimal]:
    # Resistive-ish household load: a fixed power factor while loaded, 1 at no load.
    power_factor = LOADED_POWER_FACTOR if power_w else Decimal(1)
    apparent = power_w / power_factor
    current = apparent / NOMINAL_VOLTAGE_V
    phase_current = current / 3
    values = {
        Measurement.POWER_W: power_w,
        Measurement.APPARENT_POWER_VA: apparent,
        Measurement.REACTIVE_POWER_VAR: (apparent * apparent - power_w * power_w).sqrt(),
        Measurement.POWER_FACTOR: power_factor,
        Measurement.CURRENT_A: current,
        Measurement.FREQUENCY_HZ: NOMINAL_FREQUENCY_HZ,
        Measurement.ENERGY_IMPORT_WH: energy_import_wh,
        Measurement.ENERGY_EXPORT_WH: Decimal(0),
        Measurement.ENERGY_TOTAL_WH: energy_import_wh,
    }
    for voltage in _VOLTAGES:
        values[voltage] = NOMINAL_VOLTAGE_V
    for phase in _PHASE_CURRENTS:
        values[phase] = phase_current
    return values


_VOLTAGES: Sequence[Measurement] = (
    Measurement.VOLTAGE_V,
    Measurement.VOLTAGE_L1_V,
    Measurement.VOLTAGE_L2_V,
    Measurement.VOLTAGE_L3_V,
)
_PHASE_CURRENTS: Sequence[Measurement] = (
    Measurement.CURRENT_L1_A,
    Measurement.CURRENT_L2_A,
    Measurement.CURRENT_L3_A,
)

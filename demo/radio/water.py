"""What a simulated water meter has counted: litres flowing at a daily shape, at any instant.

Pure: the volume is a function of time alone (integrated hour by hour from an anchor, cached at
whole hours), so the hourly history a LoRaWAN frame carries and the register an NB-IoT frame sends
always agree, whenever and however often they are asked.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from demo.simulator.model import LoadShape

_HOUR = timedelta(hours=1)
_SECONDS_PER_HOUR = Decimal(3600)


def whole_hour(when: datetime) -> datetime:
    """The start of the UTC hour ``when`` falls in."""
    return when.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


class WaterMeter:
    """A meter whose flow is ``flow_l_per_h`` times the shape's factor for the hour."""

    def __init__(self, flow_l_per_h: Decimal, shape: LoadShape, *, at: datetime, volume_l: Decimal) -> None:
        if flow_l_per_h < 0:
            raise ValueError(f"flow must not be negative, got {flow_l_per_h} L/h")
        self.flow_l_per_h = flow_l_per_h
        self.shape = shape
        anchor = whole_hour(at)
        self._at_hour: dict[datetime, Decimal] = {anchor: volume_l}
        self._first, self._last = anchor, anchor

    def volume_l(self, when: datetime) -> int:
        """Whole litres on the register at ``when`` (never less than at any earlier instant)."""
        hour = whole_hour(when)
        elapsed_s = Decimal((when - hour) // timedelta(microseconds=1)) / 1_000_000
        return int(self._volume_at_hour(hour) + self._flow_at(hour) * elapsed_s / _SECONDS_PER_HOUR)

    def hourly_volumes_l(self, last_hour: datetime, count: int) -> list[int]:
        """Whole litres at ``count`` whole hours ending at ``last_hour``, oldest first."""
        return [self.volume_l(last_hour - (count - 1 - i) * _HOUR) for i in range(count)]

    def _flow_at(self, hour: datetime) -> Decimal:
        return self.flow_l_per_h * self.shape.factor_at(hour)

    def _volume_at_hour(self, hour: datetime) -> Decimal:
        while hour > self._last:
            self._at_hour[self._last + _HOUR] = self._at_hour[self._last] + self._flow_at(self._last)
            self._last += _HOUR
        while hour < self._first:
            earlier = self._first - _HOUR
            self._at_hour[earlier] = self._at_hour[self._first] - self._flow_at(earlier)
            self._first = earlier
        return self._at_hour[hour]

"""Poll every meter of one bus at its interval, staggered, without ever queueing behind the bus.

One task per bus reads one meter at a time through its :class:`BusCoordinator`, so at most one
poll is outstanding. Each meter has a single next-due time: when the bus cannot keep up, a poll
that falls due while others are running waits its turn and the meter's interval stretches; missed
polls are not saved up and replayed later, so nothing grows without bound.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from edge_agent.adapters.modbus.coordinator import BusCoordinator
from edge_agent.adapters.modbus.readings import MeterReading
from edge_agent.config.model import MeterConfig

log = logging.getLogger(__name__)

OnReading = Callable[[MeterReading], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ScheduleStats:
    """What the scheduler has done so far."""

    polls: int
    #: Polls that ended after the meter's next poll was already due: the bus could not keep up.
    stretched_polls: int
    #: Callbacks that raised (logged, then polling went on).
    callback_errors: int


class PollScheduler:
    """Runs until cancelled, calling ``on_reading`` with every reading of every meter on the bus."""

    def __init__(
        self,
        coordinator: BusCoordinator,
        on_reading: OnReading,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._coordinator = coordinator
        self._on_reading = on_reading
        self._clock = clock
        self._polls = 0
        self._stretched = 0
        self._callback_errors = 0

    @property
    def stats(self) -> ScheduleStats:
        """Counts of polls, stretched polls and failed callbacks."""
        return ScheduleStats(self._polls, self._stretched, self._callback_errors)

    async def run(self) -> None:
        """Poll forever (until the task is cancelled)."""
        meters = {meter.id: meter for meter in self._coordinator.meters}
        if not meters:
            return
        due = self._staggered_start(list(meters.values()))
        while True:
            # Earliest due first; a meter only ever has one due time, so a slow bus rotates
            # through the late meters fairly instead of building a backlog.
            meter_id = min(due, key=due.__getitem__)
            wait_s = due[meter_id] - self._clock()
            if wait_s > 0:
                await asyncio.sleep(wait_s)
            reading = await self._coordinator.read_meter(meter_id)
            self._polls += 1
            await self._deliver(reading)
            next_due = due[meter_id] + meters[meter_id].poll_interval_s
            now = self._clock()
            if next_due < now:
                self._stretched += 1
                next_due = now
            due[meter_id] = next_due

    def _staggered_start(self, meters: list[MeterConfig]) -> dict[str, float]:
        # Spread first polls over each meter's interval so they do not all fall due at once.
        start = self._clock()
        count = len(meters)
        return {meter.id: start + meter.poll_interval_s * index / count for index, meter in enumerate(meters)}

    async def _deliver(self, reading: MeterReading) -> None:
        try:
            await self._on_reading(reading)
        except Exception:
            # The daemon's bug must not stop every meter on the bus from being read; it is
            # logged with its traceback and counted.
            self._callback_errors += 1
            log.exception(
                "bus %s: reading callback failed for meter %s", self._coordinator.bus.id, reading.meter_id
            )

"""The relay states meters report in their uplinks, for actuators that wait for a confirmation.

A radio relay is switched by a downlink and confirmed only by a later uplink. An actuator notes how
many reports a meter had sent when its command reached the meter, then waits (bounded) for one
more: that report is the meter's word on the command.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field

from edge_agent.adapters.frames.errors import RadioError, RadioTimeout


@dataclass(slots=True)
class _Watch:
    reports: int = 0
    closed: bool | None = None
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)


class RelayReports:
    """Per meter: how many relay reports arrived and the latest state (configured meters only)."""

    def __init__(self, meter_ids: Iterable[str]) -> None:
        self._watches = {meter_id: _Watch() for meter_id in meter_ids}

    def count(self, meter_id: str) -> int:
        """How many uplinks of the meter have reported its relay so far."""
        return self._watches[meter_id].reports

    def latest(self, meter_id: str) -> bool:
        """The state the meter last reported; :class:`RadioError` if it never has."""
        closed = self._watches[meter_id].closed
        if closed is None:
            raise RadioError(f"meter {meter_id}: no uplink has reported the relay yet")
        return closed

    async def report(self, meter_id: str, closed: bool) -> None:
        """An uplink reported the relay: remember it and wake whoever waits for it."""
        watch = self._watches.get(meter_id)
        if watch is None:
            return
        async with watch.changed:
            watch.reports += 1
            watch.closed = closed
            watch.changed.notify_all()

    async def next_after(self, meter_id: str, count: int, timeout_s: float, since: str) -> bool:
        """The state from the first report after the first ``count``, waiting at most ``timeout_s``."""
        watch = self._watches[meter_id]
        try:
            async with asyncio.timeout(timeout_s), watch.changed:
                await watch.changed.wait_for(lambda: watch.reports > count)
        except TimeoutError:
            raise RadioTimeout(
                f"meter {meter_id}: no uplink reported the relay within {timeout_s:g} s of {since}"
            ) from None
        assert watch.closed is not None
        return watch.closed

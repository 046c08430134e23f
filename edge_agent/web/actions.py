"""The installer's actions on one meter, run one at a time, with their results kept for the page.

A relay test opens a resident's supply and then closes it again. If the page gave up on it half
way (the installer's phone went to sleep, a timeout fired), cancelling it could leave the supply
off. So an action, once started, always runs to its end in its own task: the page waits for it
for a bounded time, says so when it stops waiting, and lists the result whenever it arrives.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from edge_agent.status import RelayView
from edge_agent.web.control import GatewayControl

READ_NOW = "Read now"
RELAY_TEST = "Relay test"
ACTION_RESULTS_MAX = 10
logger = logging.getLogger(__name__)


class ActionState(enum.StrEnum):
    """How an installer action ended, as its badge says it."""

    DONE = "Done"
    FAILED = "Failed"
    STILL_RUNNING = "Still running"


@dataclass(frozen=True, slots=True)
class ActionResult:
    """One installer action and what the gateway reported back."""

    at: datetime
    action: str
    meter_id: str
    state: ActionState
    outcome: str

    @property
    def tone(self) -> str:
        """The badge style: ``ok``, ``bad`` or ``warn``."""
        return {ActionState.DONE: "ok", ActionState.FAILED: "bad"}.get(self.state, "warn")


class InstallerBusy(Exception):
    """Another installer action is still running (one at a time: they switch real relays)."""


class InstallerActions:
    """Run "read now" and "relay test" through the daemon's control, one at a time."""

    def __init__(self, control: GatewayControl, *, wait_s: float) -> None:
        self._control = control
        self._wait_s = wait_s
        self._running: asyncio.Task[None] | None = None
        self.results: deque[ActionResult] = deque(maxlen=ACTION_RESULTS_MAX)

    def _record(self, action: str, meter_id: str, state: ActionState, outcome: str) -> None:
        self.results.appendleft(
            ActionResult(at=datetime.now(UTC), action=action, meter_id=meter_id, state=state, outcome=outcome)
        )

    def _refusal(self, action: str, meter_id: str) -> str | None:
        meters = {meter.id: meter for meter in self._control.status().meters}
        if meter_id not in meters:
            return f"there is no meter {meter_id!r} on this gateway"
        if action == RELAY_TEST and meters[meter_id].relay is RelayView.NO_RELAY:
            return "this meter has no relay to test"
        return None

    async def run(self, action: str, meter_id: str) -> None:
        """Start an action and wait for it for a bounded time; its result goes to :attr:`results`.

        Raises :class:`InstallerBusy` while an earlier action is still running.
        """
        if self._running is not None and not self._running.done():
            raise InstallerBusy("another installer action is still running; wait for its result")
        refusal = self._refusal(action, meter_id)
        if refusal is not None:
            self._record(action, meter_id, ActionState.FAILED, refusal)
            return
        call = self._control.relay_test if action == RELAY_TEST else self._control.read_meter_now
        self._running = task = asyncio.create_task(self._perform(action, meter_id, call))
        try:
            async with asyncio.timeout(self._wait_s):
                await asyncio.shield(task)
        except TimeoutError:
            self._record(
                action,
                meter_id,
                ActionState.STILL_RUNNING,
                f"no answer within {self._wait_s:g} s; the gateway is still on it, "
                "and its result will be listed here when it comes",
            )

    async def _perform(self, action: str, meter_id: str, call: Callable[[str], Awaitable[str]]) -> None:
        try:
            outcome = await call(meter_id)
        except Exception as error:  # the installer must see any failure on the page, whatever its type
            logger.warning("installer action %s on meter %s failed", action, meter_id, exc_info=True)
            self._record(action, meter_id, ActionState.FAILED, str(error) or type(error).__name__)
        else:
            self._record(action, meter_id, ActionState.DONE, outcome)

"""Relay control: carry out a journalled command, read the state back, journal what the meter says.

A relay is never assumed switched. After every write the controller reads the relay back; only the
meter's own answer becomes a ``relay_state`` entry and the confirmed state credit control sees.
Attempts are bounded and spaced with exponential backoff; if the meter never confirms, a
``relay_not_confirmed`` alarm is journalled and the command is dropped, so the next credit decision
(which still sees the old confirmed state) issues it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

import sqlite_utils

from edge_agent.config.model import MeterConfig
from edge_agent.errors import EdgeError
from edge_agent.store.journal import Journal
from edge_agent.store.statements import UPSERT_OPEN_ALARM, UPSERT_RELAY_STATE
from shared.credit import RelayState
from shared.journal import Alarm, AlarmKind, RelayAction, RelayCommand, RelayReason, RelayStateConfirmed

log = logging.getLogger(__name__)


class RelayActuator(Protocol):
    """How one kind of meter's relay is switched and read (Modbus now; LoRaWAN and NB-IoT later)."""

    async def switch(self, meter: MeterConfig, closed: bool) -> None: ...

    async def read_state(self, meter: MeterConfig) -> bool: ...


class RelayController:
    """One task per meter carrying out its latest command; the confirmed states in memory and store."""

    def __init__(
        self,
        journal: Journal,
        reader: sqlite_utils.Database,
        actuator_for: Callable[[MeterConfig], RelayActuator | None],
        clock: Callable[[], datetime],
        *,
        attempts: int = 5,
        first_backoff_s: float = 0.2,
        max_backoff_s: float = 5.0,
    ) -> None:
        self.journal = journal
        self.actuator_for = actuator_for
        self.clock = clock
        self.attempts = attempts
        self.first_backoff_s = first_backoff_s
        self.max_backoff_s = max_backoff_s
        stored = reader.execute(
            "SELECT meter_id, closed, confirmed_at FROM relay_state WHERE closed IS NOT NULL"
        )
        rows = stored.fetchall()
        self._confirmed: dict[str, bool] = {meter_id: bool(closed) for meter_id, closed, _ in rows}
        self._confirmed_at: dict[str, str] = {meter_id: at for meter_id, _, at in rows}
        self._pending: dict[str, RelayCommand] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def confirmed(self, meter_id: str) -> RelayState:
        """The state the meter last confirmed (``unknown`` until it has said)."""
        closed = self._confirmed.get(meter_id)
        if closed is None:
            return RelayState.UNKNOWN
        return RelayState.CLOSED if closed else RelayState.OPEN

    def confirmed_at(self, meter_id: str) -> str | None:
        return self._confirmed_at.get(meter_id)

    def pending(self, meter_id: str) -> RelayAction | None:
        """The action being carried out for the meter, if any."""
        command = self._pending.get(meter_id)
        return None if command is None else command.action

    def expect(self, meter_id: str, command: RelayCommand) -> None:
        """A command was sealed into the journal: it is now the meter's pending command."""
        self._pending[meter_id] = command

    def carry_out(self, meter: MeterConfig, command: RelayCommand) -> None:
        """Start carrying out a committed command, replacing any older one for the same meter."""
        previous = self._tasks.pop(meter.id, None)
        if previous is not None:
            previous.cancel()
        self._tasks[meter.id] = asyncio.get_running_loop().create_task(
            self._carry_out(meter, command), name=f"relay {meter.id} {command.action}"
        )

    async def read_back(self, meter: MeterConfig, command_id: str | None = None) -> bool | None:
        """Read the relay now and journal its state if it changed (or confirms ``command_id``)."""
        actuator = self.actuator_for(meter)
        if actuator is None:
            return None
        closed = await actuator.read_state(meter)
        if command_id is not None or self._confirmed.get(meter.id) != closed:
            await self._journal_state(meter, closed, command_id)
        return closed

    async def installer_test(self, meter: MeterConfig) -> str:
        """Switch the relay away from its confirmed state and back, each step journalled and confirmed.

        Refused while a credit command is being carried out for the meter. The relay ends where it
        started, so a test never leaves a household cut off (or a debtor reconnected).
        """
        running = self._tasks.get(meter.id)
        if self.pending(meter.id) is not None or (running is not None and not running.done()):
            return f"{meter.id}: a credit-control command is in progress; try the test again shortly"
        actuator = self.actuator_for(meter)
        if actuator is None:
            return f"{meter.id}: this meter has no relay the gateway can switch"
        start = await self.read_back(meter)
        assert start is not None
        steps = []
        for closed in (not start, start):
            command_id = f"{meter.id}@test{self.journal.head.seq + 1}"
            action = RelayAction.CLOSE if closed else RelayAction.OPEN
            await self._journal_command(meter, command_id, action)
            await actuator.switch(meter, closed)
            confirmed = await self.read_back(meter, command_id)
            steps.append(f"{action.value}: meter reports {_word(bool(confirmed))}")
            if confirmed != closed:
                return f"{meter.id}: relay test FAILED ({'; '.join(steps)})"
        return f"{meter.id}: relay test passed ({'; '.join(steps)})"

    async def close(self) -> None:
        """Stop every command in progress (at shutdown; a restart re-decides from the journal)."""
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _carry_out(self, meter: MeterConfig, command: RelayCommand) -> None:
        want_closed = command.action is RelayAction.CLOSE
        actuator = self.actuator_for(meter)
        last_problem = "the meter has no relay this agent can switch"
        delay = self.first_backoff_s
        for attempt in range(1, self.attempts + 1 if actuator is not None else 1):
            assert actuator is not None
            try:
                await actuator.switch(meter, want_closed)
                closed = await actuator.read_state(meter)
            except EdgeError as error:
                last_problem = f"attempt {attempt}: {error}"
            else:
                if closed == want_closed:
                    await self._journal_state(meter, closed, command.command_id)
                    self._pending.pop(meter.id, None)
                    return
                last_problem = f"attempt {attempt}: the meter still reports the relay {_word(closed)}"
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.max_backoff_s)
        await self._journal_not_confirmed(meter, command, last_problem)

    async def _journal_command(self, meter: MeterConfig, command_id: str, action: RelayAction) -> None:
        with self.journal.transaction(self.clock()) as txn:
            txn.append(
                RelayCommand(
                    meter_id=meter.id, command_id=command_id, action=action, reason=RelayReason.INSTALLER_TEST
                )
            )
        await txn.committed()

    async def _journal_state(self, meter: MeterConfig, closed: bool, command_id: str | None) -> None:
        now = self.clock()
        with self.journal.transaction(now) as txn:
            entry = txn.append(
                RelayStateConfirmed(meter_id=meter.id, command_id=command_id, closed=closed, observed_at=now)
            )
            txn.execute(UPSERT_RELAY_STATE, (meter.id, int(closed), now.isoformat(), command_id, entry.seq))
        await txn.committed()
        self._confirmed[meter.id] = closed
        self._confirmed_at[meter.id] = now.isoformat()
        log.info("meter %s: relay confirmed %s", meter.id, _word(closed))

    async def _journal_not_confirmed(self, meter: MeterConfig, command: RelayCommand, problem: str) -> None:
        detail = (
            f"command {command.command_id} ({command.action}) not confirmed after {self.attempts} attempts"
        )
        detail = f"{detail}; {problem}"[:1000]
        with self.journal.transaction(self.clock()) as txn:
            txn.append(Alarm(meter_id=meter.id, kind=AlarmKind.RELAY_NOT_CONFIRMED, detail=detail))
            txn.execute(
                UPSERT_OPEN_ALARM,
                (meter.id, AlarmKind.RELAY_NOT_CONFIRMED.value, detail, txn.journal.head.seq),
            )
        await txn.committed()
        self._pending.pop(meter.id, None)
        log.warning("meter %s: %s", meter.id, detail)


def _word(closed: bool) -> str:
    return "closed" if closed else "open"

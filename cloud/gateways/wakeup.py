"""Waking long polls: one LISTEN connection per process, fanned out to the polls waiting on it.

PostgreSQL delivers ``NOTIFY quantify_gateway_push, '<gateway id>'`` when the transaction that
queued a push message commits, on whichever API replica; the hub wakes that gateway's waiting
polls within milliseconds. If the listening connection fails, every poll is woken (each then
re-reads its queue) and the hub reconnects with backoff, so a lost notification costs at most one
poll's re-read, never a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator

import psycopg

log = logging.getLogger(__name__)

CHANNEL = "quantify_gateway_push"
#: Waits between reconnection attempts of the listening connection.
RECONNECT_BACKOFF_S = (0.5, 1.0, 2.0, 5.0)


class PushHub:
    """Per-process wake-ups for long polls, fed by one ``LISTEN`` connection."""

    def __init__(self, libpq_url: str) -> None:
        self._url = libpq_url
        self._waiters: defaultdict[int, set[asyncio.Event]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()

    async def start(self) -> None:
        """Start listening; returns once the first ``LISTEN`` is in place."""
        self._task = asyncio.create_task(self._run(), name="gateway-push-listener")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), timeout=10)

    async def stop(self) -> None:
        """Stop listening and wake every waiting poll."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._wake_all()

    @contextlib.asynccontextmanager
    async def waiter(self, gateway_id: int) -> AsyncIterator[asyncio.Event]:
        """An event set when a message for ``gateway_id`` commits; register it *before* reading."""
        event = asyncio.Event()
        self._waiters[gateway_id].add(event)
        try:
            yield event
        finally:
            self._waiters[gateway_id].discard(event)
            if not self._waiters[gateway_id]:
                del self._waiters[gateway_id]

    async def _run(self) -> None:
        attempt = 0
        while True:
            try:
                await self._listen()
            except (psycopg.Error, OSError) as error:
                self._listening.clear()
                self._wake_all()
                delay = RECONNECT_BACKOFF_S[min(attempt, len(RECONNECT_BACKOFF_S) - 1)]
                log.warning("push listener lost its connection (%s); reconnecting in %.1f s", error, delay)
                attempt += 1
                await asyncio.sleep(delay)

    async def _listen(self) -> None:
        async with await psycopg.AsyncConnection.connect(self._url, autocommit=True) as connection:
            await connection.execute(f"LISTEN {CHANNEL}")
            self._listening.set()
            # Messages may have committed while no one listened: let every poll re-read.
            self._wake_all()
            async for notify in connection.notifies():
                self._wake(notify.payload)

    def _wake(self, payload: str) -> None:
        try:
            gateway_id = int(payload)
        except ValueError:
            return
        for event in self._waiters.get(gateway_id, ()):
            event.set()

    def _wake_all(self) -> None:
        for events in self._waiters.values():
            for event in events:
                event.set()

"""The sync client: two loops, upload and push, each retrying with capped backoff, forever.

- **Upload loop**: every ``interval_s`` it drains the backlog batch by batch; each ack's
  balances go to billing and its config version to :class:`ConfigSync`. When the journal has
  been idle for ``heartbeat_s`` it resends the last acknowledged entry, so balances and config
  still arrive on schedule.
- **Push loop**: one long poll open at all times.

The cloud being away is ordinary: the failure is logged once (then at debug level until it
comes back), the loop waits with capped exponential backoff and tries again; the journal keeps
every entry meanwhile, so days offline end with the backlog draining in order. A refusal (a
revoked key, a wrong clock) waits the longest delay between attempts: a person has to act, and
the log says what to do. Anything unforeseen (a bug, a failed store) is logged with its
traceback and retried at the longest delay: metering goes on whatever happens to sync.
"""

from __future__ import annotations

import asyncio
import logging
import time

from edge_agent.sync.backoff import Backoff
from edge_agent.sync.config_sync import ConfigSync
from edge_agent.sync.credit import BalanceApplier
from edge_agent.sync.errors import CloudRefused, SyncClientError
from edge_agent.sync.ports import SyncedGateway
from edge_agent.sync.push import PushListener
from edge_agent.sync.transport import CloudTransport
from edge_agent.sync.uploader import JournalUploader
from shared.sync import MAX_BATCH_ENTRIES, AckStatus, BatchAck

log = logging.getLogger(__name__)

#: An idle journal still hears from the cloud this often (balances, config version).
HEARTBEAT_S = 60.0
#: A long poll answered empty sooner than this is followed by a pause, so a misbehaving cloud
#: that answers at once cannot spin the gateway's CPU.
MIN_EMPTY_POLL_S = 1.0


class BrokenChainRefused(SyncClientError):
    """The cloud refused a batch as a broken chain (an alarm is journalled; resending cannot help)."""


class SyncClient:
    """Uploads the journal, applies what the cloud answers and pushes; runs until cancelled."""

    def __init__(
        self,
        gateway: SyncedGateway,
        transport: CloudTransport,
        *,
        interval_s: float = 5.0,
        heartbeat_s: float = HEARTBEAT_S,
        batch_entries: int = MAX_BATCH_ENTRIES,
        upload_backoff: Backoff | None = None,
        push_backoff: Backoff | None = None,
    ) -> None:
        self.transport = transport
        self.interval_s = interval_s
        self.heartbeat_s = heartbeat_s
        self.uploader = JournalUploader(gateway, transport, batch_entries=batch_entries)
        self.balances = BalanceApplier(gateway)
        self.config = ConfigSync(gateway, transport)
        self.push = PushListener(gateway, transport, self.balances, self.config)
        self.upload_backoff = upload_backoff or Backoff(first_s=0.5, max_s=60.0)
        self.push_backoff = push_backoff or Backoff(first_s=0.5, max_s=30.0)
        self.batches_sent = 0
        self._last_ack_at = float("-inf")

    async def run(self) -> None:
        """Both loops, until cancelled; then the HTTP connections are closed."""
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._upload_loop(), name="sync upload")
                group.create_task(self._push_loop(), name="sync push")
        finally:
            await self.transport.aclose()

    async def sync_now(self) -> int:
        """Drain the backlog (every batch acknowledged) and apply the acks; return batches sent."""
        await self.config.first_pull()
        sent = 0
        while (ack := await self.uploader.send_next()) is not None:
            sent += 1
            await self._after_ack(ack)
            if ack.status is AckStatus.BROKEN_CHAIN:
                raise BrokenChainRefused(f"cloud refused the batch from seq {ack.expected_seq}: {ack.detail}")
        if sent == 0 and time.monotonic() - self._last_ack_at >= self.heartbeat_s:
            ack = await self.uploader.heartbeat()
            if ack is not None:
                await self._after_ack(ack)
        return sent

    async def _after_ack(self, ack: BatchAck) -> None:
        self.batches_sent += 1
        self._last_ack_at = time.monotonic()
        await self.balances.apply_all(ack.balances)
        await self.config.follow(ack.config_version)

    async def _upload_loop(self) -> None:
        while True:
            try:
                await self.sync_now()
            except SyncClientError as error:
                delay_s = self._failed("journal upload", error, self.upload_backoff)
            except Exception:
                delay_s = self._crashed("journal upload", self.upload_backoff)
            else:
                self._recovered("journal upload", self.upload_backoff)
                delay_s = self.interval_s
            await asyncio.sleep(delay_s)

    async def _push_loop(self) -> None:
        while True:
            started = time.monotonic()
            try:
                received = await self.push.poll_once()
            except SyncClientError as error:
                await asyncio.sleep(self._failed("push channel", error, self.push_backoff))
                continue
            except Exception:
                await asyncio.sleep(self._crashed("push channel", self.push_backoff))
                continue
            self._recovered("push channel", self.push_backoff)
            if received == 0 and time.monotonic() - started < MIN_EMPTY_POLL_S:
                await asyncio.sleep(MIN_EMPTY_POLL_S)

    @staticmethod
    def _crashed(what: str, backoff: Backoff) -> float:
        """A bug or a store failure: logged with its traceback; the loop lives on at the longest delay.

        Metering and enforcement must not stop because sync hit something unforeseen, and a loop
        that died silently would leave the gateway offline for good.
        """
        log.exception("%s failed unexpectedly; retrying in %.0f s", what, backoff.max_s)
        backoff.next_delay_s()
        return backoff.max_s

    @staticmethod
    def _failed(what: str, error: SyncClientError, backoff: Backoff) -> float:
        """Log the first failure of a run of them loudly, the rest quietly; the delay before retrying."""
        first = not backoff.failing
        delay_s = backoff.next_delay_s()
        if isinstance(error, CloudRefused | BrokenChainRefused):
            delay_s = backoff.max_s
            log.error("%s: %s", what, error)
        elif first:
            log.warning("%s: %s (retrying with backoff up to %.0f s; the journal keeps everything)",
                        what, error, backoff.max_s)  # fmt: skip
        else:
            log.debug("%s: %s (retry in %.1f s)", what, error, delay_s)
        return delay_s

    @staticmethod
    def _recovered(what: str, backoff: Backoff) -> None:
        if backoff.failing:
            log.info("%s: the cloud answers again", what)
        backoff.reset()

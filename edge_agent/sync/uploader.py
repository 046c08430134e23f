"""Journal upload: the journal is the outbox, the ack is the only proof of delivery.

Each batch is the next run of *committed* entries after the acknowledged seq (read through the
read-only connection, which sees only committed transactions), at most ``MAX_BATCH_ENTRIES``.
Whatever the status, the ack's ``acknowledged_seq`` is the highest seq the cloud holds with every
entry up to it verified, so it becomes the new watermark (``sync_state.acknowledged_seq``, with
``last_sync_at``), written only after the ack arrived:

- ``accepted`` / ``duplicate``: the watermark moves to the batch's end; the next batch follows;
- ``gap``: the cloud holds less than we thought (its data was restored, or a batch was lost): the
  watermark moves back to ``expected_seq - 1`` and upload resumes from there;
- ``broken_chain``: resending cannot help; a gateway-wide alarm is journalled (once per refused
  seq), the watermark moves to the cloud's, and the client backs off to its longest delay.

An ack naming a seq beyond our own journal is impossible for an honest cloud and is refused.
"""

from __future__ import annotations

import logging

from edge_agent.store.queries import acknowledged_seq, encoded_batch, journal_length
from edge_agent.sync.errors import CloudProtocolError
from edge_agent.sync.ports import SyncedGateway
from edge_agent.sync.store import RECORD_ACK
from edge_agent.sync.transport import CloudTransport
from shared.journal import Alarm, AlarmKind
from shared.journal.bodies import MAX_DETAIL_CHARS
from shared.sync import MAX_BATCH_ENTRIES, AckStatus, BatchAck, SyncError, decode_ack, encode_message
from shared.sync.gateway_api import JOURNAL_PATH
from shared.sync.messages import journal_batch

log = logging.getLogger(__name__)


class JournalUploader:
    """Sends the backlog batch by batch and keeps the acknowledged watermark."""

    def __init__(
        self, gateway: SyncedGateway, transport: CloudTransport, *, batch_entries: int = MAX_BATCH_ENTRIES
    ) -> None:
        assert 1 <= batch_entries <= MAX_BATCH_ENTRIES
        self.gateway = gateway
        self.transport = transport
        self.batch_entries = batch_entries
        self.acknowledged = acknowledged_seq(gateway.reader)
        self._broken_alarmed_at: int | None = None

    def backlog(self) -> int:
        """Committed entries the cloud has not acknowledged."""
        return journal_length(self.gateway.reader) - self.acknowledged

    async def send_next(self) -> BatchAck | None:
        """Upload the next batch after the watermark; ``None`` when there is nothing to send."""
        entries = encoded_batch(self.gateway.reader, after_seq=self.acknowledged, limit=self.batch_entries)
        if not entries:
            return None
        return await self._send(entries)

    async def heartbeat(self) -> BatchAck | None:
        """Resend the last acknowledged entry: the cloud answers ``duplicate`` with fresh balances.

        Batches need at least one entry; when the journal is idle this is how the gateway still
        hears its balances and config version on schedule. ``None`` before anything was acknowledged.
        """
        if self.acknowledged < 1:
            return None
        entries = encoded_batch(self.gateway.reader, after_seq=self.acknowledged - 1, limit=1)
        return await self._send(entries) if entries else None

    async def _send(self, entries: list[bytes]) -> BatchAck:
        body = encode_message(journal_batch(self.gateway.gateway_id, entries))
        answer = await self.transport.request("POST", JOURNAL_PATH, body=body)
        try:
            ack = decode_ack(answer)
        except SyncError as error:
            raise CloudProtocolError(str(error)) from None
        await self._record(ack)
        return ack

    async def _record(self, ack: BatchAck) -> None:
        """Move the watermark to what the ack says the cloud holds; alarm on a broken chain."""
        have = journal_length(self.gateway.reader)
        if ack.acknowledged_seq > have:
            raise CloudProtocolError(
                f"the cloud acknowledges seq {ack.acknowledged_seq} but this gateway's journal ends at "
                f"seq {have}: was the gateway's store replaced? (nothing recorded)"
            )
        if ack.status is AckStatus.GAP:
            log.warning("cloud holds our journal through seq %d (%s); resending from seq %s",
                        ack.acknowledged_seq, ack.detail, ack.expected_seq)  # fmt: skip
        now = self.gateway.clock()
        with self.gateway.journal.transaction(now) as txn:
            if ack.status is AckStatus.BROKEN_CHAIN and self._broken_alarmed_at != ack.expected_seq:
                detail = f"cloud refused the journal from seq {ack.expected_seq} (broken chain): {ack.detail}"
                txn.append(
                    Alarm(meter_id=None, kind=AlarmKind.SYNC_REFUSED, detail=detail[:MAX_DETAIL_CHARS])
                )
                self._broken_alarmed_at = ack.expected_seq
                log.error("%s", detail)
            txn.execute(RECORD_ACK, (ack.acknowledged_seq, now.isoformat()))
        await txn.committed()
        self.acknowledged = ack.acknowledged_seq

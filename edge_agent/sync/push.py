"""The push channel: one long poll always open, each message applied once.

``GET PUSH_PATH?after=CURSOR`` is answered at once when messages wait, else after up to
``PUSH_LONG_POLL_S`` with none. Messages are applied in order:

- ``credit_changed`` → :class:`~edge_agent.sync.credit.BalanceApplier` (the relay closes seconds
  after a top-up, without waiting for the next journal sync);
- ``relay_command`` → a ``relay_command`` entry with reason ``operator`` (and its ``command_id``
  recorded in the same transaction, with the operator's hold it starts or ends), then the relay
  controller carries it out and confirms it;
- ``config_version`` → :class:`~edge_agent.sync.config_sync.ConfigSync`.

The batch's cursor is saved after its messages are applied, so a restart resumes after it. A crash
in between replays the batch: credit repeats are skipped (same terms), operator commands by their
recorded ``command_id``, config notices by version. Nothing is applied twice.
"""

from __future__ import annotations

import logging

import msgspec

from edge_agent.sync.config_sync import ConfigSync
from edge_agent.sync.credit import BalanceApplier
from edge_agent.sync.errors import CloudProtocolError
from edge_agent.sync.ports import SyncedGateway
from edge_agent.sync.store import RECORD_PUSH_COMMAND, RECORD_PUSH_CURSOR, command_applied, push_cursor
from edge_agent.sync.transport import CloudTransport
from shared.journal import RelayCommand, RelayReason
from shared.sync import ConfigVersionNotice, CreditChanged, PushMessage, RelayCommandPush
from shared.sync.gateway_api import PUSH_LONG_POLL_S, PUSH_PATH, PushBatch

log = logging.getLogger(__name__)

#: The read timeout of a long poll: the cloud's hold time plus room for a slow network.
PUSH_READ_TIMEOUT_S = PUSH_LONG_POLL_S + 15
_DECODER = msgspec.json.Decoder(PushBatch)


class PushListener:
    """Applies pushed messages in order and keeps the cursor."""

    def __init__(
        self, gateway: SyncedGateway, transport: CloudTransport, balances: BalanceApplier, config: ConfigSync
    ) -> None:
        self.gateway = gateway
        self.transport = transport
        self.balances = balances
        self.config = config
        self.cursor = push_cursor(gateway.reader)

    async def poll_once(self) -> int:
        """One long poll; apply what it brings; return how many messages it held."""
        body = await self.transport.request(
            "GET", f"{PUSH_PATH}?after={self.cursor}", read_timeout_s=PUSH_READ_TIMEOUT_S
        )
        try:
            batch = _DECODER.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            raise CloudProtocolError(f"push batch: {error}") from None
        for message in batch.messages:
            await self.apply(message)
        if batch.cursor != self.cursor:
            with self.gateway.journal.transaction(self.gateway.clock()) as txn:
                txn.execute(RECORD_PUSH_CURSOR, (batch.cursor,))
            await txn.committed()
            self.cursor = batch.cursor
        return len(batch.messages)

    async def apply(self, message: PushMessage) -> None:
        """Apply one pushed message (each kind is idempotent, see the module docstring)."""
        if isinstance(message, CreditChanged):
            await self.balances.apply(message.balance)
        elif isinstance(message, RelayCommandPush):
            await self._relay_command(message)
        elif isinstance(message, ConfigVersionNotice):
            await self.config.follow(message.config_version)

    async def _relay_command(self, push: RelayCommandPush) -> None:
        if command_applied(self.gateway.reader, push.command_id):
            return
        meter = self.gateway.meter_config(push.meter_id)
        if meter is None:
            log.warning("operator command %s names meter %s, which this gateway does not run; ignored",
                        push.command_id, push.meter_id)  # fmt: skip
            return
        command = RelayCommand(
            meter_id=meter.id, command_id=push.command_id, action=push.action, reason=RelayReason.OPERATOR
        )
        with self.gateway.journal.transaction(self.gateway.clock()) as txn:
            entry = txn.append(command)
            txn.execute(RECORD_PUSH_COMMAND, (push.command_id, entry.seq))
            self.gateway.billing.seal_operator_command(txn, meter, command)  # its hold, if any
        await txn.committed()
        log.info("operator command %s: %s relay of meter %s", push.command_id, push.action.value, meter.id)
        self.gateway.relays.carry_out(meter, command)

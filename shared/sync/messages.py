"""The messages gateway and cloud exchange, and their JSON codecs.

- Gateway → cloud: :class:`JournalBatch` (``POST``), answered by a :class:`BatchAck`.
- Cloud → gateway on the push channel: a :data:`PushMessage` (credit changed, relay command,
  config version notice).

Journal entries travel in their encoded form, byte for byte (``msgspec.Raw``), so the cloud stores
and verifies exactly what the gateway hashed.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Annotated, TypeVar

import msgspec

from shared.journal import MAX_ENTRY_BYTES, Pocket, RelayAction, RelayReason
from shared.journal.bodies import Detail, Identifier, Instant
from shared.sync.errors import SyncError

#: Most entries one batch may carry; a gateway with more backlog sends several batches.
MAX_BATCH_ENTRIES = 1000
#: Largest batch body in bytes (the cloud can refuse bigger requests before parsing them).
MAX_BATCH_BYTES = MAX_BATCH_ENTRIES * (MAX_ENTRY_BYTES + 1) + 1024
#: Most pocket balances one ack carries (every pocket of every wallet the gateway enforces).
MAX_BALANCES_PER_ACK = 10_000

_Count = Annotated[int, msgspec.Meta(ge=0)]


class JournalBatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Consecutive journal entries of one gateway, oldest first, in their encoded form."""

    gateway_id: Identifier
    entries: Annotated[list[msgspec.Raw], msgspec.Meta(min_length=1, max_length=MAX_BATCH_ENTRIES)]

    def encoded_entries(self) -> list[bytes]:
        """The entries' bytes, as the gateway encoded them (for ``verify_chain`` and storage)."""
        return [bytes(raw) for raw in self.entries]


def journal_batch(gateway_id: str, encoded_entries: Sequence[bytes]) -> JournalBatch:
    """A batch of already encoded entries (``shared.journal.encode_entry``), checked for size."""
    if not 1 <= len(encoded_entries) <= MAX_BATCH_ENTRIES:
        raise SyncError(
            f"journal batch for gateway {gateway_id}: expected 1 to {MAX_BATCH_ENTRIES} entries, "
            f"got {len(encoded_entries)}"
        )
    for index, data in enumerate(encoded_entries):
        if len(data) > MAX_ENTRY_BYTES:
            raise SyncError(
                f"journal batch for gateway {gateway_id}: entry {index} is {len(data)} bytes, "
                f"at most {MAX_ENTRY_BYTES} are allowed"
            )
    return JournalBatch(gateway_id=gateway_id, entries=[msgspec.Raw(data) for data in encoded_entries])


class AckStatus(enum.StrEnum):
    """The cloud's verdict on a batch. A batch is stored whole or not at all."""

    ACCEPTED = "accepted"
    """Every entry verified; the new ones are stored. Entries the cloud already held byte for byte
    (a resend that overlaps) are skipped. ``acknowledged_seq`` is the batch's last seq."""
    DUPLICATE = "duplicate"
    """The cloud already held every entry of the batch byte for byte; nothing new was stored.
    The gateway treats it as accepted (its earlier ack was lost) and moves on."""
    GAP = "gap"
    """The batch starts after ``expected_seq``: entries are missing in between; nothing stored.
    The gateway resends from ``expected_seq``."""
    BROKEN_CHAIN = "broken_chain"
    """An entry failed verification (altered, undecodable, not linked to the stored hash, or
    different from the entry the cloud holds at that seq); nothing stored, an alarm is raised.
    Resending the same entries cannot help; ``detail`` names the first bad entry."""


_REFUSALS = frozenset({AckStatus.GAP, AckStatus.BROKEN_CHAIN})


class PocketBalance(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The cloud's balance of one wallet pocket, with this gateway's charges posted through a seq.

    ``balance_cents`` includes every cloud-side movement (top-ups, levies, adjustments) and this
    gateway's charges with seq ≤ ``posted_through_seq``; the gateway subtracts its later charges
    itself (:func:`shared.sync.cached_balance_cents`).
    """

    wallet_id: Identifier
    pocket: Pocket
    balance_cents: int
    posted_through_seq: _Count


class BatchAck(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The cloud's answer to a :class:`JournalBatch`.

    ``acknowledged_seq`` is, whatever the status, the highest seq the cloud holds for this gateway
    with every entry from 1 up to it verified and stored: the gateway may mark all entries up to
    it as delivered. ``expected_seq`` is set only for refusals (gap, broken chain) and is the seq
    the cloud expects next, ``acknowledged_seq + 1``. ``detail`` says why a batch was refused.
    ``balances`` are the current balances of every pocket the gateway enforces and
    ``config_version`` the gateway's current config version (pull it when it differs).
    """

    status: AckStatus
    acknowledged_seq: _Count
    expected_seq: Annotated[int, msgspec.Meta(ge=1)] | None
    detail: Detail | None
    balances: Annotated[list[PocketBalance], msgspec.Meta(max_length=MAX_BALANCES_PER_ACK)]
    config_version: _Count

    def __post_init__(self) -> None:
        refused = self.status in _REFUSALS
        if refused and self.expected_seq != self.acknowledged_seq + 1:
            raise SyncError(
                f"batch ack with status {self.status}: expected_seq must be acknowledged_seq + 1 = "
                f"{self.acknowledged_seq + 1}, got {self.expected_seq}"
            )
        if not refused and self.expected_seq is not None:
            raise SyncError(
                f"batch ack with status {self.status}: expected_seq must be null, got {self.expected_seq}"
            )


class PushMessageBase(
    msgspec.Struct, frozen=True, kw_only=True, tag_field="type", forbid_unknown_fields=True
):
    """Base of the messages the cloud pushes to a gateway; ``type`` names the message."""


class CreditChanged(PushMessageBase, frozen=True, kw_only=True, tag="credit_changed"):
    """A pocket's cloud balance changed (a top-up, usually): apply it now, do not wait for a sync."""

    balance: PocketBalance


class RelayCommandPush(PushMessageBase, frozen=True, kw_only=True, tag="relay_command"):
    """Switch a relay, by a person's decision in the cloud; ``command_id`` makes resends harmless."""

    command_id: Identifier
    meter_id: Identifier
    action: RelayAction
    reason: RelayReason
    issued_at: Instant


class ConfigVersionNotice(PushMessageBase, frozen=True, kw_only=True, tag="config_version"):
    """The gateway's config is now at ``config_version``; pull it if the gateway's is older."""

    config_version: _Count


#: Any message on the push channel.
PushMessage = CreditChanged | RelayCommandPush | ConfigVersionNotice

_ENCODER = msgspec.json.Encoder()
_BATCH_DECODER = msgspec.json.Decoder(JournalBatch)
_ACK_DECODER = msgspec.json.Decoder(BatchAck)
_PUSH_DECODER: msgspec.json.Decoder[PushMessage] = msgspec.json.Decoder(PushMessage)

_T = TypeVar("_T")


def encode_message(message: JournalBatch | BatchAck | PushMessage) -> bytes:
    """JSON bytes of any protocol message (entries inside a batch are copied verbatim)."""
    return _ENCODER.encode(message)


def decode_batch(data: bytes) -> JournalBatch:
    """Decode a journal batch; raises :class:`SyncError` saying which field is wrong."""
    if len(data) > MAX_BATCH_BYTES:
        raise SyncError(f"journal batch is {len(data)} bytes; at most {MAX_BATCH_BYTES} are allowed")
    return _decode(_BATCH_DECODER, data, "journal batch")


def decode_ack(data: bytes) -> BatchAck:
    """Decode a batch ack; raises :class:`SyncError` saying which field is wrong."""
    return _decode(_ACK_DECODER, data, "batch ack")


def decode_push(data: bytes) -> PushMessage:
    """Decode a push message of any type; raises :class:`SyncError` saying which field is wrong."""
    return _decode(_PUSH_DECODER, data, "push message")


def _decode(decoder: msgspec.json.Decoder[_T], data: bytes, what: str) -> _T:
    try:
        return decoder.decode(data)
    except msgspec.ValidationError as error:
        raise SyncError(f"{what}: {error}") from None
    except msgspec.DecodeError as error:
        raise SyncError(f"{what} is not valid JSON: {error}") from None
    except UnicodeDecodeError as error:
        raise SyncError(f"{what} is not valid UTF-8 text ({error.reason})") from None

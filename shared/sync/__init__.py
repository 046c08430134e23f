"""The sync protocol between a gateway and the cloud: messages, codecs, balance rule, signing.

See ``docs/journal.md`` for the exchange: the gateway posts :class:`JournalBatch` es, the cloud
answers each with a :class:`BatchAck` carrying balances and the config version, and pushes
:data:`PushMessage` s (credit, relay commands, config notices) as they happen.
"""

from shared.sync.balance import cached_balance_cents
from shared.sync.errors import SyncError
from shared.sync.intake import BatchAssessment, assess_batch, overlap_seqs
from shared.sync.messages import (
    MAX_BALANCES_PER_ACK,
    MAX_BATCH_BYTES,
    MAX_BATCH_ENTRIES,
    AckStatus,
    BatchAck,
    ConfigVersionNotice,
    CreditChanged,
    JournalBatch,
    PocketBalance,
    PushMessage,
    RelayCommandPush,
    decode_ack,
    decode_batch,
    decode_push,
    encode_message,
    journal_batch,
)
from shared.sync.signing import (
    CLOCK_SKEW_WINDOW_S,
    ED25519_SIGNATURE_BYTES,
    HEADER_GATEWAY_ID,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    SIGNATURE_SCHEME,
    decode_signature,
    encode_signature,
    parse_timestamp_header,
    signing_payload,
    timestamp_header,
    within_clock_skew,
)

__all__ = [
    "CLOCK_SKEW_WINDOW_S",
    "ED25519_SIGNATURE_BYTES",
    "HEADER_GATEWAY_ID",
    "HEADER_SIGNATURE",
    "HEADER_TIMESTAMP",
    "MAX_BALANCES_PER_ACK",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_ENTRIES",
    "SIGNATURE_SCHEME",
    "AckStatus",
    "BatchAck",
    "BatchAssessment",
    "ConfigVersionNotice",
    "CreditChanged",
    "JournalBatch",
    "PocketBalance",
    "PushMessage",
    "RelayCommandPush",
    "SyncError",
    "assess_batch",
    "cached_balance_cents",
    "decode_ack",
    "decode_batch",
    "decode_push",
    "decode_signature",
    "encode_message",
    "encode_signature",
    "journal_batch",
    "overlap_seqs",
    "parse_timestamp_header",
    "signing_payload",
    "timestamp_header",
    "within_clock_skew",
]

"""The gateway's append-only, hash-chained journal: entry bodies, canonical encoding, verification.

Every fact the gateway learns or decides is an :class:`Entry`; ``docs/journal.md`` specifies the
bytes. Typical use on the gateway::

    entry = next_entry(head, Reading(...), recorded_at=now)
    store(entry.seq, encode_entry(entry))
    head = entry.head

and in the cloud, for a batch: ``verify_chain(batch_entries, expected_first_seq=stored.seq + 1,
expected_prev_hash=stored.hash)``.
"""

from shared.journal.bodies import (
    Alarm,
    AlarmKind,
    Body,
    Charge,
    ConfigApplied,
    CreditApplied,
    EntryBody,
    MeterReplaced,
    Pocket,
    Reading,
    ReadingSource,
    RelayAction,
    RelayCommand,
    RelayReason,
    RelayStateConfirmed,
)
from shared.journal.canonical import canonical_datetime, canonical_decimal, encode_canonical
from shared.journal.entry import (
    GENESIS,
    GENESIS_PREV_HASH,
    MAX_ENTRY_BYTES,
    ChainHead,
    Entry,
    chain_hash,
    content_hash,
    decode_entry,
    encode_entry,
    next_entry,
    seal_entry,
)
from shared.journal.errors import JournalError
from shared.journal.verify import ChainProblem, ChainVerdict, ProblemKind, verify_chain

__all__ = [
    "GENESIS",
    "GENESIS_PREV_HASH",
    "MAX_ENTRY_BYTES",
    "Alarm",
    "AlarmKind",
    "Body",
    "ChainHead",
    "ChainProblem",
    "ChainVerdict",
    "Charge",
    "ConfigApplied",
    "CreditApplied",
    "Entry",
    "EntryBody",
    "JournalError",
    "MeterReplaced",
    "Pocket",
    "ProblemKind",
    "Reading",
    "ReadingSource",
    "RelayAction",
    "RelayCommand",
    "RelayReason",
    "RelayStateConfirmed",
    "canonical_datetime",
    "canonical_decimal",
    "chain_hash",
    "content_hash",
    "decode_entry",
    "encode_canonical",
    "encode_entry",
    "next_entry",
    "seal_entry",
    "verify_chain",
]

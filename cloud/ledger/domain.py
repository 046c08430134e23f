"""The ledger's pure rules: accounts, posting requests, sign convention and the hash chain.

Sign convention
    Every posting moves ``amount_cents`` (> 0) from its **debit** account to its **credit**
    account. An account's ``balance_cents`` is the sum of its credits minus the sum of its debits,
    so the balances of all accounts always sum to zero. A wallet pocket's balance is therefore the
    money the tenant holds (positive when in credit); revenue and payables grow positive; money the
    operator holds or is owed (bank, payment clearing, levy receivable) shows negative.

    Top-up: debit clearing/bank, credit pocket. Charge: debit pocket, credit revenue.
    A correction is a new posting in the other direction, never an edit.

Hash chain
    ``hash(n) = SHA-256(hash(n-1) ‖ canonical_bytes(posting n))`` with ``hash(0)`` = 32 zero bytes.
    The canonical bytes are the shared canonical JSON (:mod:`shared.journal.canonical`: UTF-8,
    keys sorted, no whitespace, integers as numbers, datetimes as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``)
    of exactly this object::

        {"amount_cents": int, "credit_account_id": int, "currency": str,
         "debit_account_id": int, "effective_at": datetime, "idempotency_key": str,
         "kind": str, "memo": str, "posted_at": datetime, "seq": int}
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from datetime import datetime

from cloud.errors import ValidationFailed
from shared.journal.canonical import canonical_datetime, encode_tree
from shared.money import DEFAULT_CURRENCY

GENESIS_HASH = bytes(32)
IDEMPOTENCY_KEY_MAX_CHARS = 200
MEMO_MAX_CHARS = 500


class AccountKind(enum.StrEnum):
    """The kinds of ledger account the design names."""

    WALLET_POCKET = "wallet_pocket"
    PAYMENT_CLEARING = "payment_clearing"
    BANK = "bank"
    REVENUE = "revenue"
    LEVY_RECEIVABLE = "levy_receivable"
    SETTLEMENT_PAYABLE = "settlement_payable"
    SUSPENSE = "suspense"


class PostingKind(enum.StrEnum):
    """Why money moved; statements and reports group by it."""

    TOP_UP = "top_up"
    EFT_RECEIVED = "eft_received"
    CHARGE = "charge"
    LEVY = "levy"
    FEE = "fee"
    ADJUSTMENT = "adjustment"
    SETTLEMENT = "settlement"
    REVERSAL = "reversal"
    TRANSFER = "transfer"


@dataclass(frozen=True, slots=True)
class PostingRequest:
    """A posting a caller wants made; the idempotency key makes a retry safe.

    ``effective_at`` is when the movement happened in business terms (a gateway's charge time);
    ``None`` means "now", and a repeat with ``None`` matches the original whatever its time.
    """

    idempotency_key: str
    kind: PostingKind
    debit_account_id: int
    credit_account_id: int
    amount_cents: int
    memo: str = ""
    effective_at: datetime | None = None
    currency: str = DEFAULT_CURRENCY

    def __post_init__(self) -> None:
        key = self.idempotency_key
        if not key or len(key) > IDEMPOTENCY_KEY_MAX_CHARS or key != key.strip():
            raise ValidationFailed(
                f"idempotency_key: expected 1-{IDEMPOTENCY_KEY_MAX_CHARS} characters without surrounding "
                f"spaces, got {key!r}"
            )
        if type(self.amount_cents) is not int or self.amount_cents <= 0:
            raise ValidationFailed(
                f"amount_cents ({key}): expected a positive whole number of cents, got "
                f"{self.amount_cents!r}; move money the other way with a posting in the opposite direction"
            )
        if self.debit_account_id == self.credit_account_id:
            raise ValidationFailed(
                f"posting {key}: debit and credit are the same account {self.debit_account_id}"
            )
        if len(self.memo) > MEMO_MAX_CHARS:
            raise ValidationFailed(f"memo ({key}): at most {MEMO_MAX_CHARS} characters, got {len(self.memo)}")
        if self.effective_at is not None and self.effective_at.utcoffset() is None:
            raise ValidationFailed(f"effective_at ({key}): expected a timezone-aware time")


@dataclass(frozen=True, slots=True)
class StoredPosting:
    """A posting as stored: the request's content plus its chain position, times and hash."""

    seq: int
    idempotency_key: str
    kind: PostingKind
    debit_account_id: int
    credit_account_id: int
    amount_cents: int
    currency: str
    effective_at: datetime
    posted_at: datetime
    memo: str
    hash: bytes


def canonical_bytes(posting: StoredPosting) -> bytes:
    """The exact bytes the chain hashes for one posting (see the module docstring)."""
    return encode_tree(
        {
            "amount_cents": posting.amount_cents,
            "credit_account_id": posting.credit_account_id,
            "currency": posting.currency,
            "debit_account_id": posting.debit_account_id,
            "effective_at": canonical_datetime(posting.effective_at, where="effective_at"),
            "idempotency_key": posting.idempotency_key,
            "kind": str(posting.kind),
            "memo": posting.memo,
            "posted_at": canonical_datetime(posting.posted_at, where="posted_at"),
            "seq": posting.seq,
        }
    )


def chain_hash(previous_hash: bytes, posting: StoredPosting) -> bytes:
    """SHA-256 of the previous posting's hash followed by this posting's canonical bytes."""
    return hashlib.sha256(previous_hash + canonical_bytes(posting)).digest()


def same_content(request: PostingRequest, stored: StoredPosting) -> bool:
    """Whether a repeated request asks for exactly what the stored posting with its key did."""
    return (
        request.kind == stored.kind
        and request.debit_account_id == stored.debit_account_id
        and request.credit_account_id == stored.credit_account_id
        and request.amount_cents == stored.amount_cents
        and request.currency == stored.currency
        and request.memo == stored.memo
        and (request.effective_at is None or request.effective_at == stored.effective_at)
    )


def gateway_charge_key(gateway_id: int, seq: int) -> str:
    """The idempotency key of a gateway's journal entry posted as a charge: ``gateway:<id>:seq:<n>``."""
    return f"gateway:{gateway_id}:seq:{seq}"

"""Request and response bodies of the ledger endpoints: closed periods, adjustments and an estate's
transactions (msgspec). Money is an integer number of cents with its currency beside it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from cloud.api.money_schemas import AMOUNT_MAX_CENTS, Reason, TransactionOut
from cloud.api.statements import AccountSide, EstatePosting
from cloud.ledger.models import ClosedPeriod
from cloud.wallets.adjustments import Adjustment

SignedCents = Annotated[
    int,
    msgspec.Meta(
        ge=-AMOUNT_MAX_CENTS,
        le=AMOUNT_MAX_CENTS,
        description="cents, non-zero: positive credits the pocket, negative debits it",
    ),
]


class PeriodClose(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Close [starts_at, ends_at) for posting, for good: the period must be over and may not overlap
    one already closed."""

    starts_at: Annotated[datetime, msgspec.Meta(examples=["2026-09-30T22:00:00Z"])]
    ends_at: Annotated[datetime, msgspec.Meta(examples=["2026-10-31T22:00:00Z"])]
    reason: Reason


class ClosedPeriodOut(msgspec.Struct):
    """A closed accounting period [starts_at, ends_at): no posting may be dated inside it."""

    id: int
    starts_at: datetime
    ends_at: datetime
    closed_at: datetime
    closed_by_user_id: int | None
    reason: str


class AdjustmentCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A correction to a pocket against suspense; ``effective_at`` (default now) dates it in the
    period it belongs to, which must be open."""

    amount_cents: SignedCents
    reason: Reason
    effective_at: datetime | None = None


class AdjustmentOut(msgspec.Struct):
    """The posting that corrected the pocket; ``created`` is false when the request was a repeat."""

    pocket_id: int
    seq: int
    amount_cents: int
    currency: str
    effective_at: datetime
    posted_at: datetime
    created: bool


class AccountRef(msgspec.Struct):
    """One side of a posting: the account, its kind, its pocket if it is one; ``code`` is null for an
    account of another estate."""

    account_id: int
    code: str | None
    kind: str
    pocket_id: int | None


class EstateTransactionOut(msgspec.Struct):
    """A posting touching the estate's accounts: ``amount_cents`` moves from ``debit`` to ``credit``."""

    seq: int
    kind: str
    amount_cents: int
    currency: str
    effective_at: datetime
    posted_at: datetime
    memo: str
    debit: AccountRef
    credit: AccountRef


class EstateTransactionPage(msgspec.Struct):
    """A page of an estate's transactions, oldest first; pass ``next_after_seq`` as ``after_seq``."""

    items: list[EstateTransactionOut]
    next_after_seq: int | None


def closed_period_out(period: ClosedPeriod) -> ClosedPeriodOut:
    """The response body of a closed period."""
    return ClosedPeriodOut(
        period.id, period.starts_at, period.ends_at, period.closed_at, period.closed_by_user_id, period.reason
    )


def adjustment_out(adjustment: Adjustment, transaction: TransactionOut) -> AdjustmentOut:
    """The response body of an adjustment, its amount signed as the pocket sees it."""
    posting = adjustment.posting
    return AdjustmentOut(
        adjustment.pocket_id,
        posting.seq,
        transaction.amount_cents,
        posting.currency,
        posting.effective_at,
        posting.posted_at,
        adjustment.created,
    )


def estate_transaction_out(found: EstatePosting) -> EstateTransactionOut:
    """The response body of one of an estate's transactions."""
    posting = found.posting
    return EstateTransactionOut(
        posting.seq,
        posting.kind.value,
        posting.amount_cents,
        posting.currency,
        posting.effective_at,
        posting.posted_at,
        posting.memo,
        _account_ref(found.debit),
        _account_ref(found.credit),
    )


def _account_ref(side: AccountSide) -> AccountRef:
    return AccountRef(side.account_id, side.code, side.kind, side.pocket_id)

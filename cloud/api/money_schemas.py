"""Request and response bodies of the wallet, transaction and payment endpoints (msgspec).

Money is always an integer number of cents with its currency beside it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from cloud.api.schemas import Id
from cloud.ledger.domain import StoredPosting
from cloud.payments.models import ExpectedEft
from cloud.payments.services import MoneyIn
from cloud.wallets.services import PocketBalance, WalletView

#: Largest single top-up or EFT: R1,000,000. Anything bigger is a typo or belongs to a bank transfer.
AMOUNT_MAX_CENTS = 100_000_000
Cents = Annotated[int, msgspec.Meta(gt=0, le=AMOUNT_MAX_CENTS, description="positive amount in cents")]
Reason = Annotated[
    str, msgspec.Meta(min_length=1, max_length=500, description="why; kept in the ledger and audit trail")
]


class WalletOpen(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Open the unit's wallet for the person paying for its supply."""

    holder_person_id: Id | None = None
    tenancy_id: Id | None = None


class PocketOut(msgspec.Struct):
    """A pocket and its balance: positive is money the holder has, in cents."""

    id: int
    wallet_id: int
    name: str
    currency: str
    balance_cents: int
    last_seq: int


class WalletOut(msgspec.Struct):
    """A wallet with its pockets' balances."""

    id: int
    estate_id: int
    unit_id: int
    holder_person_id: int | None
    tenancy_id: int | None
    opened_at: datetime
    closed_at: datetime | None
    pockets: list[PocketOut]


class TransactionOut(msgspec.Struct):
    """One posting that moved a pocket, seen from the pocket: ``amount_cents`` > 0 is money in."""

    seq: int
    kind: str
    amount_cents: int
    currency: str
    effective_at: datetime
    posted_at: datetime
    memo: str


class TransactionPage(msgspec.Struct):
    """A page of a pocket's transactions, oldest first; pass ``next_after_seq`` as ``after_seq``."""

    items: list[TransactionOut]
    next_after_seq: int | None


class TopUp(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Money the administrator received outside the system (cash, a card slip)."""

    amount_cents: Cents
    reason: Reason


class MoneyInOut(msgspec.Struct):
    """The posting that put money in; ``created`` is false when the request was a repeat."""

    pocket_id: int
    seq: int
    amount_cents: int
    currency: str
    created: bool
    posted_at: datetime


class EftExpect(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """An EFT on its way: the payer's reference (unique in the estate) and the amount."""

    reference: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    amount_cents: Cents
    reason: Reason


class EftReceived(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The EFT is on the bank statement: post it into its pocket."""

    reason: Reason


class EftOut(msgspec.Struct):
    """An expected or received EFT."""

    id: int
    estate_id: int
    pocket_id: int
    reference: str
    amount_cents: int
    status: str
    created_at: datetime
    received_at: datetime | None
    posting_seq: int | None


def pocket_out(pocket: PocketBalance) -> PocketOut:
    """The response body of a pocket."""
    return PocketOut(
        pocket.pocket_id,
        pocket.wallet_id,
        pocket.name.value,
        pocket.currency,
        pocket.balance_cents,
        pocket.last_seq,
    )


def wallet_out(view: WalletView) -> WalletOut:
    """The response body of a wallet."""
    return WalletOut(
        id=view.id,
        estate_id=view.estate_id,
        unit_id=view.unit_id,
        holder_person_id=view.holder_person_id,
        tenancy_id=view.tenancy_id,
        opened_at=view.opened_at,
        closed_at=view.closed_at,
        pockets=[pocket_out(p) for p in view.pockets],
    )


def transaction_out(posting: StoredPosting, account_id: int) -> TransactionOut:
    """A posting as the pocket's statement line (money in positive, money out negative)."""
    sign = 1 if posting.credit_account_id == account_id else -1
    return TransactionOut(
        posting.seq,
        posting.kind.value,
        sign * posting.amount_cents,
        posting.currency,
        posting.effective_at,
        posting.posted_at,
        posting.memo,
    )


def money_in_out(result: MoneyIn) -> MoneyInOut:
    """The response body of a top-up or received EFT."""
    posting = result.posting
    return MoneyInOut(
        result.pocket_id,
        posting.seq,
        posting.amount_cents,
        posting.currency,
        result.created,
        posting.posted_at,
    )


def eft_out(eft: ExpectedEft) -> EftOut:
    """The response body of an EFT."""
    return EftOut(
        eft.id,
        eft.estate_id,
        eft.pocket_id,
        eft.reference,
        eft.amount_cents,
        eft.status,
        eft.created_at,
        eft.received_at,
        eft.posting_seq,
    )

"""Corrections to a pocket by an administrator: a new posting against suspense, never an edit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from cloud.audit.actor import Actor
from cloud.errors import ValidationFailed
from cloud.estates.scope import Scope
from cloud.gateways.push import pocket_balance_changed
from cloud.ledger.accounts import ensure_account, suspense_account
from cloud.ledger.domain import PostingKind, PostingRequest, StoredPosting
from cloud.ledger.posting import BalanceAudit, post
from cloud.wallets.services import get_pocket


@dataclass(frozen=True, slots=True)
class Adjustment:
    """The posting that corrected a pocket; ``created`` is False when this call was a repeat."""

    posting: StoredPosting
    created: bool
    pocket_id: int


async def adjust_pocket(
    session: AsyncSession,
    scope: Scope,
    actor: Actor,
    pocket_id: int,
    *,
    amount_cents: int,
    idempotency_key: str,
    effective_at: datetime | None = None,
) -> Adjustment:
    """Credit (``amount_cents`` > 0) or debit (< 0) a pocket against the suspense account.

    Suspense holds the other side until finance books it where it belongs (a refund, a fee
    written off). The reason is required: it becomes the posting's memo and the audit record's.
    ``effective_at`` dates the correction in the period it belongs to (now if ``None``); a date
    inside a closed period is refused by the ledger (:class:`~cloud.errors.PeriodClosed`).
    """
    if not actor.reason.strip():
        raise ValidationFailed("reason: say why this pocket is being corrected (it is kept in the ledger)")
    if type(amount_cents) is not int or amount_cents == 0:
        raise ValidationFailed(
            f"amount_cents: expected a non-zero whole number of cents, got {amount_cents!r}"
        )
    pocket = await get_pocket(session, scope, pocket_id)
    suspense = await ensure_account(session, suspense_account(pocket.currency))
    debit, credit = (suspense, pocket.account_id) if amount_cents > 0 else (pocket.account_id, suspense)
    request = PostingRequest(
        idempotency_key=f"adjust:{idempotency_key}",
        kind=PostingKind.ADJUSTMENT,
        debit_account_id=debit,
        credit_account_id=credit,
        amount_cents=abs(amount_cents),
        memo=actor.reason,
        effective_at=effective_at,
        currency=pocket.currency,
    )
    audit = BalanceAudit(
        actor,
        "wallet.adjust",
        ("pocket", pocket_id),
        pocket.estate_id,
        pocket.account_id,
        {"pocket_id": pocket_id},
    )
    result = (await post(session, request, audit=audit)).results[0]
    if result.created:
        await pocket_balance_changed(session, pocket_id)  # the gateways apply it at once
    return Adjustment(posting=result.posting, created=result.created, pocket_id=pocket_id)

"""Money in, first cut: an administrator's manual top-up, and manual EFTs (expected, then received).

Both post to the ledger under an idempotency key, so a retried request never pays twice, and both
write an audit record with who, from where, why, and the pocket's balance before and after.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.audit.actor import Actor
from cloud.audit.services import record
from cloud.errors import Conflict, NotFound, ValidationFailed
from cloud.estates.scope import Scope
from cloud.gateways.push import pocket_balance_changed
from cloud.ledger.accounts import bank_account, clearing_account, ensure_account
from cloud.ledger.domain import PostingKind, PostingRequest, StoredPosting
from cloud.ledger.group_commit import FollowUp, post_promptly
from cloud.ledger.posting import BalanceAudit
from cloud.payments.models import EftStatus, ExpectedEft
from cloud.wallets.services import PocketAccount, get_pocket, get_pocket_account

#: The clearing account an administrator's manual top-up is drawn from.
MANUAL_PROVIDER = "manual"
REFERENCE_MAX_CHARS = 64


@dataclass(frozen=True, slots=True)
class MoneyIn:
    """A posting that put money into a pocket; ``created`` is False when this call was a repeat."""

    posting: StoredPosting
    created: bool
    pocket_id: int


async def manual_top_up(
    session: AsyncSession,
    scope: Scope,
    actor: Actor,
    pocket_id: int,
    *,
    amount_cents: int,
    idempotency_key: str,
) -> MoneyIn:
    """Credit a pocket with money the administrator received outside the system (cash, a card slip).

    ``idempotency_key`` is created by the client once per top-up and resent on retry.
    """
    _require_reason(actor)
    pocket = await get_pocket_account(session, scope, pocket_id)
    clearing = await ensure_account(session, clearing_account(MANUAL_PROVIDER, pocket.currency))
    request = PostingRequest(
        idempotency_key=f"top_up:{idempotency_key}",
        kind=PostingKind.TOP_UP,
        debit_account_id=clearing,
        credit_account_id=pocket.account_id,
        amount_cents=amount_cents,
        memo=actor.reason,
        currency=pocket.currency,
    )
    return await _post_money_in(
        session, actor, pocket, request, action="payments.manual_top_up", subject=("pocket", pocket_id)
    )


async def expect_eft(
    session: AsyncSession, scope: Scope, actor: Actor, pocket_id: int, *, reference: str, amount_cents: int
) -> ExpectedEft:
    """Record that an EFT with this reference and amount is on its way to a pocket.

    Recording the same reference again with the same pocket and amount returns the first record.
    """
    reference = reference.strip()
    if not reference or len(reference) > REFERENCE_MAX_CHARS:
        raise ValidationFailed(f"reference: expected 1-{REFERENCE_MAX_CHARS} characters, got {reference!r}")
    if type(amount_cents) is not int or amount_cents <= 0:
        raise ValidationFailed(
            f"amount_cents: expected a positive whole number of cents, got {amount_cents!r}"
        )
    pocket = await get_pocket(session, scope, pocket_id)
    existing = await session.scalar(
        select(ExpectedEft).where(
            ExpectedEft.estate_id == pocket.estate_id, ExpectedEft.reference == reference
        )
    )
    if existing is not None:
        if existing.pocket_id == pocket_id and existing.amount_cents == amount_cents:
            return existing
        raise Conflict(
            f"EFT reference {reference!r} is already expected for pocket {existing.pocket_id} "
            f"({existing.amount_cents} cents); use a new reference for a different transfer"
        )
    eft = ExpectedEft(
        estate_id=pocket.estate_id,
        pocket_id=pocket_id,
        reference=reference,
        amount_cents=amount_cents,
        created_by_user_id=actor.user_id,
    )
    session.add(eft)
    await session.flush()
    after = {
        "reference": reference,
        "amount_cents": amount_cents,
        "pocket_id": pocket_id,
        "status": eft.status,
    }
    await record(
        session,
        actor,
        "payments.expect_eft",
        ("eft", eft.id),
        estate_id=pocket.estate_id,
        before=None,
        after=after,
    )
    return eft


async def mark_eft_received(session: AsyncSession, scope: Scope, actor: Actor, eft_id: int) -> MoneyIn:
    """Post an expected EFT into its pocket (bank → pocket); marking it again returns the same posting."""
    _require_reason(actor)
    eft = await _eft(session, scope, eft_id, for_update=True)
    pocket = await get_pocket_account(session, Scope.everything(), eft.pocket_id)
    bank = await ensure_account(session, bank_account(eft.estate_id, pocket.currency))
    request = PostingRequest(
        idempotency_key=f"eft:{eft.id}",
        kind=PostingKind.EFT_RECEIVED,
        debit_account_id=bank,
        credit_account_id=pocket.account_id,
        amount_cents=eft.amount_cents,
        memo=f"EFT {eft.reference}",
        currency=pocket.currency,
    )
    result = await _post_money_in(
        session, actor, pocket, request, action="payments.eft_received", subject=("eft", eft.id)
    )
    if eft.status != EftStatus.RECEIVED.value:
        eft.status = EftStatus.RECEIVED.value
        eft.received_at = datetime.now(UTC)
        eft.received_by_user_id = actor.user_id
        eft.posting_seq = result.posting.seq
        await session.flush()
    return result


async def list_efts(
    session: AsyncSession, scope: Scope, estate_id: int, *, status: EftStatus | None = None
) -> Sequence[ExpectedEft]:
    """An estate's EFTs, newest first, optionally only those still expected or already received."""
    scope.require_estate(estate_id, f"estate {estate_id}")
    query = select(ExpectedEft).where(ExpectedEft.estate_id == estate_id).order_by(ExpectedEft.id.desc())
    if status is not None:
        query = query.where(ExpectedEft.status == status.value)
    efts = (await session.scalars(query)).all()
    return [eft for eft in efts if scope.wallet_ids is None or await _eft_visible(session, scope, eft)]


async def get_eft(session: AsyncSession, scope: Scope, eft_id: int) -> ExpectedEft:
    """One expected EFT within ``scope``."""
    return await _eft(session, scope, eft_id)


async def _post_money_in(
    session: AsyncSession,
    actor: Actor,
    pocket: PocketAccount,
    request: PostingRequest,
    *,
    action: str,
    subject: tuple[str, int],
) -> MoneyIn:
    # The posting statement writes the audit record itself, with the pocket's exact balances.
    audit = BalanceAudit(
        actor, action, subject, pocket.estate_id, pocket.account_id, fields={"pocket_id": pocket.pocket_id}
    )
    # The push commits with the posting; the gateways enforcing this wallet wake at that commit.
    push = FollowUp(("pocket", pocket.pocket_id), lambda s: pocket_balance_changed(s, pocket.pocket_id))
    # Concurrent top-ups share one commit (see cloud.ledger.group_commit).
    result = await post_promptly(session, request, audit=audit, follow_up=push)
    return MoneyIn(posting=result.posting, created=result.created, pocket_id=pocket.pocket_id)


async def _eft(session: AsyncSession, scope: Scope, eft_id: int, *, for_update: bool = False) -> ExpectedEft:
    eft = await session.get(ExpectedEft, eft_id, with_for_update=for_update)
    if eft is None or not scope.allows_estate(eft.estate_id) or not await _eft_visible(session, scope, eft):
        raise NotFound(f"EFT {eft_id} not found")
    return eft


async def _eft_visible(session: AsyncSession, scope: Scope, eft: ExpectedEft) -> bool:
    if scope.wallet_ids is None:
        return True
    try:
        await get_pocket(session, scope, eft.pocket_id)
    except NotFound:
        return False
    return True


def _require_reason(actor: Actor) -> None:
    if not actor.reason.strip():
        raise ValidationFailed(
            "reason: say why this money is being posted (it is kept in the ledger and audit trail)"
        )

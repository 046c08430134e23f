"""Charges a gateway journalled become ledger postings, exactly once per (gateway, seq).

A charge debits the wallet pocket the gateway deducted from (the entry names the cloud's wallet
id and the pocket, as the config document told the gateway) and credits revenue for the estate
and utility. A charge naming a pocket the cloud does not have in that estate still happened: it
is posted against suspense, so the ledger and the gateway agree on the money, and an alarm tells
an admin to move it. Zero-cent charges are stored in the journal and post nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.gateways.config import GatewayContext
from cloud.gateways.facts import raise_cloud_alarm
from cloud.ledger.accounts import ensure_account, revenue_account, suspense_account
from cloud.ledger.domain import PostingKind, PostingRequest, gateway_charge_key
from cloud.ledger.posting import BULK_MAX, post_many
from shared.journal import Charge
from shared.quantities import Utility

_POCKET_ACCOUNTS = text("""
    SELECT p.wallet_id, p.name, p.account_id FROM pockets p JOIN wallets w ON w.id = p.wallet_id
    WHERE w.estate_id = :estate AND p.wallet_id = ANY(CAST(:wallets AS bigint[]))
""")


async def post_charges(
    session: AsyncSession,
    context: GatewayContext,
    charges: Sequence[tuple[int, Charge]],
    *,
    meanwhile: Callable[[], None] | None = None,
) -> int:
    """Post the non-zero charges of an accepted batch; returns how many postings were created.

    ``meanwhile`` (CPU work of the caller's, no I/O on the session) is called exactly once, while
    the server inserts the postings (see :func:`post_many`).
    """
    billable = [(seq, charge) for seq, charge in charges if charge.amount_cents != 0]
    if not billable:
        if meanwhile is not None:
            meanwhile()
        return 0
    pockets = await _pocket_accounts(session, context.estate.id, {charge.wallet_id for _, charge in billable})
    revenue: dict[Utility, int] = {}
    requests = []
    for seq, charge in billable:
        if charge.utility not in revenue:
            spec = revenue_account(context.estate.id, charge.utility, context.estate.currency)
            revenue[charge.utility] = await ensure_account(session, spec)
        pocket_account = pockets.get((charge.wallet_id, charge.pocket.value))
        if pocket_account is None:
            pocket_account = await _suspense_for(session, context, seq, charge)
        requests.append(_request(context, seq, charge, pocket_account, revenue[charge.utility]))
    created = 0
    for start in range(0, len(requests), BULK_MAX):
        # An accepted batch holds only entries the cloud never stored, so their keys are new
        # (a charge commits with its entry); post_many still finds a repeat under the lock.
        batch = requests[start : start + BULK_MAX]
        work = meanwhile if start == 0 else None
        created += (await post_many(session, batch, expect_new=True, meanwhile=work)).created_count
    return created


def _request(context: GatewayContext, seq: int, charge: Charge, pocket: int, revenue: int) -> PostingRequest:
    # The sign convention: a charge debits the pocket; a negative charge (a gateway's credit
    # note) moves the money back the other way rather than posting a negative amount.
    debit, credit = (pocket, revenue) if charge.amount_cents > 0 else (revenue, pocket)
    return PostingRequest(
        idempotency_key=gateway_charge_key(context.gateway_id, seq),
        kind=PostingKind.CHARGE,
        debit_account_id=debit,
        credit_account_id=credit,
        amount_cents=abs(charge.amount_cents),
        memo=f"meter {charge.meter_id} {charge.band} {charge.quantity}"[:200],
        effective_at=charge.interval_end,
        currency=context.estate.currency,
    )


async def _pocket_accounts(
    session: AsyncSession, estate_id: int, wallet_ids: set[str]
) -> dict[tuple[str, str], int]:
    numeric = [int(wallet) for wallet in wallet_ids if wallet.isdigit() and len(wallet) < 19]
    if not numeric:
        return {}
    rows = await (await session.connection()).execute(
        _POCKET_ACCOUNTS, {"estate": estate_id, "wallets": numeric}
    )
    return {(str(row.wallet_id), row.name): row.account_id for row in rows}


async def _suspense_for(session: AsyncSession, context: GatewayContext, seq: int, charge: Charge) -> int:
    await raise_cloud_alarm(
        session,
        context.gateway_id,
        "unmapped_charge",
        f"charge at seq {seq} names wallet {charge.wallet_id!r} pocket {charge.pocket.value}, which estate "
        f"{context.estate.id} does not have; {charge.amount_cents} cents were posted against suspense",
        meter_id=charge.meter_id,
    )
    return await ensure_account(session, suspense_account(context.estate.currency))

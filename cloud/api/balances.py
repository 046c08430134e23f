"""Wallet balances in one statement: the read behind the tenant's balance screen, the API's busiest.

``cloud.wallets.services.get_wallet`` answers the same question in two ORM round trips; this
read model answers it in one Core query, with the same scoping rule (``Scope.allows_wallet``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from itertools import groupby
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.errors import NotFound
from cloud.estates.scope import Scope
from cloud.wallets.models import PocketName
from cloud.wallets.services import PocketBalance, WalletView

_WALLETS = text(
    """
    SELECT w.id, w.estate_id, w.unit_id, w.holder_person_id, w.tenancy_id, w.opened_at, w.closed_at,
           p.id AS pocket_id, p.name, p.account_id, a.currency, a.balance_cents, a.last_seq
    FROM wallets w
    LEFT JOIN pockets p ON p.wallet_id = w.id
    LEFT JOIN ledger_accounts a ON a.id = p.account_id
    WHERE w.id = ANY(CAST(:ids AS bigint[]))
    ORDER BY w.id, p.name
    """
)


async def wallet_balances(session: AsyncSession, scope: Scope, wallet_id: int) -> WalletView:
    """One wallet within ``scope`` with every pocket's balance, else :class:`NotFound`."""
    found = await wallets_balances(session, scope, [wallet_id])
    if not found:
        raise NotFound(f"wallet {wallet_id} not found")
    return found[0]


async def wallets_balances(
    session: AsyncSession, scope: Scope, wallet_ids: Collection[int]
) -> Sequence[WalletView]:
    """The wallets among ``wallet_ids`` within ``scope``, by id, each with its pockets' balances."""
    connection = await session.connection()
    rows = (await connection.execute(_WALLETS, {"ids": sorted(wallet_ids)})).all()
    views = [_view(list(group)) for _, group in groupby(rows, key=lambda row: row.id)]
    return [view for view in views if scope.allows_wallet(view.estate_id, view.id)]


def _view(rows: list[Row[Any]]) -> WalletView:
    first = rows[0]
    pockets = tuple(
        PocketBalance(
            pocket_id=row.pocket_id,
            wallet_id=row.id,
            estate_id=row.estate_id,
            name=PocketName(row.name),
            account_id=row.account_id,
            currency=row.currency,
            balance_cents=row.balance_cents,
            last_seq=row.last_seq,
        )
        for row in rows
        if row.pocket_id is not None
    )
    return WalletView(
        id=first.id,
        estate_id=first.estate_id,
        unit_id=first.unit_id,
        holder_person_id=first.holder_person_id,
        tenancy_id=first.tenancy_id,
        opened_at=first.opened_at,
        closed_at=first.closed_at,
        pockets=pockets,
    )

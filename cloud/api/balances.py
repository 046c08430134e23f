"""Wallet balances in one statement: the read behind the tenant's balance screen, the API's busiest.

``cloud.wallets.services.get_wallet`` answers the same question in two ORM round trips; this
read model answers it in one Core query, with the same scoping rule (``Scope.allows_wallet``).

For a browser session, :func:`session_wallet_balances` goes further: the session lookup, the
caller's scope and the balances are one prepared statement on a driver connection (one round
trip, no ORM), and the answer is decided by the same code as everywhere else
(:func:`cloud.auth.principal.principal_of_session`, then ``Scope.allows_wallet``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from itertools import groupby
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import namedtuple_row
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.errors import NotAuthenticated
from cloud.auth.principal import (
    SESSION_ENDED,
    SESSION_PRINCIPAL_CTE,
    principal_of_session,
    session_parameters,
)
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

# The caller's principal on every row, the wallets' pockets beside it (nulls where no wallet).
_BESIDE_PRINCIPAL = """
    SELECT pr.*, w.id, w.estate_id, w.unit_id, w.holder_person_id, w.tenancy_id, w.opened_at,
           w.closed_at, p.id AS pocket_id, p.name, p.account_id, a.currency, a.balance_cents, a.last_seq
    FROM principal pr
    LEFT JOIN wallets w ON {wallets}
    LEFT JOIN pockets p ON p.wallet_id = w.id
    LEFT JOIN ledger_accounts a ON a.id = p.account_id
    ORDER BY w.id, p.name
"""
_SESSION_WALLET = SESSION_PRINCIPAL_CTE + _BESIDE_PRINCIPAL.format(wallets="w.id = %(wallet)s")
#: The session's own wallets: what ``/me/wallets`` lists (``Scope.wallet_ids``).
_SESSION_OWN_WALLETS = SESSION_PRINCIPAL_CTE + _BESIDE_PRINCIPAL.format(wallets="w.id = ANY(pr.wallet_ids)")


async def session_wallet_balances(
    connection: AsyncConnection[Any], token: str, wallet_id: int, *, today: date, source_address: str | None
) -> WalletView:
    """The wallet with its balances as the holder of session ``token`` may see it, in one round trip.

    :class:`NotAuthenticated` if the session is over, :class:`NotFound` if the wallet does not exist
    or lies outside the session's scope (the two read the same).
    """
    found = await _session_wallets(
        connection, _SESSION_WALLET, token, wallet_id, today=today, source_address=source_address
    )
    if not found:
        raise NotFound(f"wallet {wallet_id} not found")
    return found[0]


async def session_own_wallets(
    connection: AsyncConnection[Any], token: str, *, today: date, source_address: str | None
) -> Sequence[WalletView]:
    """The wallets the session's user holds or whose units they own, with balances, in one round
    trip (none for estate staff); :class:`NotAuthenticated` if the session is over."""
    return await _session_wallets(
        connection, _SESSION_OWN_WALLETS, token, None, today=today, source_address=source_address
    )


async def _session_wallets(
    connection: AsyncConnection[Any],
    query: str,
    token: str,
    wallet_id: int | None,
    *,
    today: date,
    source_address: str | None,
) -> list[WalletView]:
    params = session_parameters(token, today) | {"wallet": wallet_id}
    async with connection.cursor(row_factory=namedtuple_row) as cursor:
        await cursor.execute(query, params)
        rows: list[Any] = await cursor.fetchall()
    if not rows:
        raise NotAuthenticated(SESSION_ENDED)
    scope = principal_of_session(rows[0], source_address).scope
    views = [_view(list(group)) for key, group in groupby(rows, key=lambda row: row.id) if key is not None]
    return [view for view in views if scope.allows_wallet(view.estate_id, view.id)]


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


def _view(rows: Sequence[Any]) -> WalletView:
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

"""Open, close and read wallets; every pocket is a ledger account, so its balance is the ledger's."""

# ruff: noqa: S608  -- the only text formatted into SQL here is the constant POSTING_COLUMNS

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, Select, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.audit.actor import Actor
from cloud.audit.services import record
from cloud.errors import Conflict, NotFound
from cloud.estates.models import Estate, WalletMode
from cloud.estates.scope import Scope
from cloud.estates.services import get_unit
from cloud.ledger.accounts import ensure_account, pocket_account
from cloud.ledger.domain import StoredPosting
from cloud.ledger.driver import connection_cache, fetch, remember
from cloud.ledger.models import LedgerAccount
from cloud.ledger.posting import POSTING_COLUMNS, stored_posting
from cloud.wallets.models import Pocket, PocketName, Wallet
from shared.quantities import Utility

#: Most statement lines one call returns; the API pages with ``after_seq``.
STATEMENT_PAGE_MAX = 1_000

_POCKET = """
    SELECT p.id, p.wallet_id, w.estate_id, p.name, p.account_id, a.currency, a.balance_cents, a.last_seq
    FROM pockets p JOIN wallets w ON w.id = p.wallet_id JOIN ledger_accounts a ON a.id = p.account_id
    WHERE p.id = %(pocket)s
"""

# ``settled``: this transaction has written nothing, so the row it sees was committed by another.
_POCKET_ACCOUNT = """
    SELECT p.wallet_id, w.estate_id, p.name, p.account_id, a.currency,
           pg_current_xact_id_if_assigned() IS NULL AS settled
    FROM pockets p JOIN wallets w ON w.id = p.wallet_id JOIN ledger_accounts a ON a.id = p.account_id
    WHERE p.id = %(pocket)s
"""


@dataclass(frozen=True, slots=True)
class PocketAccount:
    """What never changes about a pocket: whose wallet and estate it is, and its ledger account."""

    pocket_id: int
    wallet_id: int
    estate_id: int
    name: PocketName
    account_id: int
    currency: str


@dataclass(frozen=True, slots=True)
class PocketBalance:
    """A pocket and its ledger balance; ``last_seq`` is the last posting that moved it."""

    pocket_id: int
    wallet_id: int
    estate_id: int
    name: PocketName
    account_id: int
    currency: str
    balance_cents: int
    last_seq: int


@dataclass(frozen=True, slots=True)
class WalletView:
    """A wallet with its pockets' balances."""

    id: int
    estate_id: int
    unit_id: int
    holder_person_id: int | None
    tenancy_id: int | None
    opened_at: datetime
    closed_at: datetime | None
    pockets: tuple[PocketBalance, ...]


async def open_wallet(
    session: AsyncSession,
    scope: Scope,
    actor: Actor,
    unit_id: int,
    *,
    holder_person_id: int | None = None,
    tenancy_id: int | None = None,
) -> WalletView:
    """Open the unit's wallet with pockets per the estate's wallet mode; one open wallet per unit."""
    unit = await get_unit(session, scope, unit_id, for_update=True)
    open_id = await session.scalar(
        select(Wallet.id).where(Wallet.unit_id == unit_id, Wallet.closed_at.is_(None))
    )
    if open_id is not None:
        raise Conflict(f"unit {unit_id} already has open wallet {open_id}; close it before opening another")
    estate = (await session.execute(select(Estate).where(Estate.id == unit.estate_id))).scalar_one()
    wallet = Wallet(
        estate_id=estate.id, unit_id=unit_id, holder_person_id=holder_person_id, tenancy_id=tenancy_id
    )
    session.add(wallet)
    await session.flush()
    for name in pocket_names(estate):
        account_id = await ensure_account(
            session, pocket_account(estate.id, wallet.id, name.value, estate.currency)
        )
        session.add(Pocket(wallet_id=wallet.id, name=name.value, account_id=account_id))
    await session.flush()
    view = await get_wallet(session, scope, wallet.id)
    after = {
        "unit_id": unit_id,
        "holder_person_id": holder_person_id,
        "pockets": [p.name.value for p in view.pockets],
    }
    await record(
        session, actor, "wallet.open", ("wallet", wallet.id), estate_id=estate.id, before=None, after=after
    )
    return view


def pocket_names(estate: Estate) -> list[PocketName]:
    """The pockets a new wallet of this estate gets: one per metered utility, or one shared."""
    if estate.wallet_mode == WalletMode.SHARED.value:
        return [PocketName.SHARED]
    return [PocketName(utility) for utility in sorted(estate.utilities)]


async def close_wallet(session: AsyncSession, scope: Scope, actor: Actor, wallet_id: int) -> WalletView:
    """Close a wallet at move-out; its pockets keep their balances for refund or transfer."""
    wallet = await _wallet_row(session, scope, wallet_id, for_update=True)
    if wallet.closed_at is not None:
        raise Conflict(f"wallet {wallet_id} was already closed at {wallet.closed_at.isoformat()}")
    wallet.closed_at = datetime.now(UTC)
    await session.flush()
    await record(
        session,
        actor,
        "wallet.close",
        ("wallet", wallet_id),
        estate_id=wallet.estate_id,
        before={"closed_at": None},
        after={"closed_at": wallet.closed_at.isoformat()},
    )
    return await get_wallet(session, scope, wallet_id)


async def get_wallet(session: AsyncSession, scope: Scope, wallet_id: int) -> WalletView:
    """A wallet within ``scope`` with its pockets' current balances."""
    wallet = await _wallet_row(session, scope, wallet_id)
    rows = await session.execute(_pockets_query().where(Pocket.wallet_id == wallet_id).order_by(Pocket.name))
    return WalletView(
        id=wallet.id,
        estate_id=wallet.estate_id,
        unit_id=wallet.unit_id,
        holder_person_id=wallet.holder_person_id,
        tenancy_id=wallet.tenancy_id,
        opened_at=wallet.opened_at,
        closed_at=wallet.closed_at,
        pockets=tuple(_pocket_balance(row) for row in rows),
    )


async def get_pocket(session: AsyncSession, scope: Scope, pocket_id: int) -> PocketBalance:
    """One pocket within ``scope``, with its current balance."""
    # Straight through the driver: every top-up and adjustment reads its pocket first.
    rows = await fetch(session, _POCKET, {"pocket": pocket_id})
    row = rows[0] if rows else None
    if row is None or not scope.allows_wallet(row[2], row[1]):
        raise NotFound(f"pocket {pocket_id} not found")
    return PocketBalance(pocket_id, row[1], row[2], PocketName(row[3]), *row[4:])


async def get_pocket_account(session: AsyncSession, scope: Scope, pocket_id: int) -> PocketAccount:
    """One pocket within ``scope`` and its ledger account, without the balance (money in needs no
    more). None of it ever changes, so once read as committed it is remembered per connection:
    a hot wallet's top-ups then read nothing before posting."""
    known = await connection_cache(session, "wallet_pocket_accounts")
    pocket: PocketAccount | None = known.get(pocket_id)
    if pocket is None:
        rows = await fetch(session, _POCKET_ACCOUNT, {"pocket": pocket_id})
        if not rows:
            raise NotFound(f"pocket {pocket_id} not found")
        row = rows[0]
        pocket = PocketAccount(pocket_id, row[0], row[1], PocketName(row[2]), row[3], row[4])
        if row[5]:
            remember(known, pocket_id, pocket)
    if not scope.allows_wallet(pocket.estate_id, pocket.wallet_id):
        raise NotFound(f"pocket {pocket_id} not found")
    return pocket


async def pocket_paying_for(
    session: AsyncSession, scope: Scope, wallet_id: int, utility: Utility
) -> PocketBalance:
    """The pocket a wallet pays ``utility`` from: its own pocket, or the shared one."""
    view = await get_wallet(session, scope, wallet_id)
    for pocket in view.pockets:
        if pocket.name in (PocketName(utility.value), PocketName.SHARED):
            return pocket
    raise NotFound(
        f"wallet {wallet_id} has no pocket paying for {utility.value}; its estate does not meter it"
    )


async def pocket_statement(
    session: AsyncSession, scope: Scope, pocket_id: int, *, after_seq: int = 0, limit: int = 100
) -> Sequence[StoredPosting]:
    """The postings that moved a pocket, oldest first, after ``after_seq`` (for paging)."""
    pocket = await get_pocket(session, scope, pocket_id)
    query = text(
        f"SELECT {POSTING_COLUMNS} FROM ledger_postings "
        "WHERE (debit_account_id = :account OR credit_account_id = :account) AND seq > :after "
        "ORDER BY seq LIMIT :limit"
    )
    params = {"account": pocket.account_id, "after": after_seq, "limit": min(limit, STATEMENT_PAGE_MAX)}
    return [stored_posting(row) for row in await session.execute(query, params)]


async def _wallet_row(
    session: AsyncSession, scope: Scope, wallet_id: int, *, for_update: bool = False
) -> Wallet:
    wallet = await session.get(Wallet, wallet_id, with_for_update=for_update)
    if wallet is None or not scope.allows_wallet(wallet.estate_id, wallet.id):
        raise NotFound(f"wallet {wallet_id} not found")
    return wallet


def _pockets_query() -> Select[*tuple[Any, ...]]:
    return (
        select(
            Pocket.id,
            Pocket.wallet_id,
            Wallet.estate_id,
            Pocket.name,
            Pocket.account_id,
            LedgerAccount.currency,
            LedgerAccount.balance_cents,
            LedgerAccount.last_seq,
        )
        .join(Wallet, Wallet.id == Pocket.wallet_id)
        .join(LedgerAccount, LedgerAccount.id == Pocket.account_id)
    )


def _pocket_balance(row: Row[Any]) -> PocketBalance:
    return PocketBalance(
        pocket_id=row.id,
        wallet_id=row.wallet_id,
        estate_id=row.estate_id,
        name=PocketName(row.name),
        account_id=row.account_id,
        currency=row.currency,
        balance_cents=row.balance_cents,
        last_seq=row.last_seq,
    )

"""Ledger accounts: their stable codes, creation on first use, and scoped balance reads."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.errors import ValidationFailed
from cloud.ledger.domain import AccountKind
from cloud.ledger.driver import connection_cache, fetch, remember
from cloud.ledger.models import LedgerAccount
from shared.money import DEFAULT_CURRENCY
from shared.quantities import Utility

# ``settled``: this transaction has written nothing, so the row it sees was committed by another.
_ID_BY_CODE = (
    "SELECT id, pg_current_xact_id_if_assigned() IS NULL AS settled FROM ledger_accounts "
    "WHERE code = %(code)s"
)


@dataclass(frozen=True, slots=True)
class AccountSpec:
    """What identifies an account: its code (unique), kind, owning estate and currency."""

    code: str
    kind: AccountKind
    estate_id: int | None
    currency: str = DEFAULT_CURRENCY


def pocket_account(estate_id: int, wallet_id: int, pocket: str, currency: str) -> AccountSpec:
    """A wallet pocket's account: ``wallet:<wallet>:<pocket>``."""
    return AccountSpec(f"wallet:{wallet_id}:{pocket}", AccountKind.WALLET_POCKET, estate_id, currency)


def clearing_account(provider: str, currency: str = DEFAULT_CURRENCY) -> AccountSpec:
    """Money a payment provider has confirmed but not yet settled to the bank: ``clearing:<provider>``."""
    if not provider.isidentifier():
        raise ValidationFailed(
            f"provider: expected a short name such as 'manual' or 'payfast', got {provider!r}"
        )
    return AccountSpec(f"clearing:{provider}:{currency}", AccountKind.PAYMENT_CLEARING, None, currency)


def bank_account(estate_id: int, currency: str) -> AccountSpec:
    """The estate's bank (trust) account, where EFTs arrive: ``bank:<estate>``."""
    return AccountSpec(f"bank:{estate_id}", AccountKind.BANK, estate_id, currency)


def revenue_account(estate_id: int, utility: Utility, currency: str) -> AccountSpec:
    """Consumption revenue of one estate and utility: ``revenue:<estate>:<utility>``."""
    return AccountSpec(f"revenue:{estate_id}:{utility.value}", AccountKind.REVENUE, estate_id, currency)


def levy_receivable_account(estate_id: int, currency: str) -> AccountSpec:
    """Levies the estate has raised and not yet collected: ``levy_receivable:<estate>``."""
    return AccountSpec(f"levy_receivable:{estate_id}", AccountKind.LEVY_RECEIVABLE, estate_id, currency)


def settlement_payable_account(estate_id: int, party: str, currency: str) -> AccountSpec:
    """Collected money owed to one party of an estate: ``settlement_payable:<estate>:<party>``."""
    return AccountSpec(
        f"settlement_payable:{estate_id}:{party}", AccountKind.SETTLEMENT_PAYABLE, estate_id, currency
    )


def suspense_account(currency: str = DEFAULT_CURRENCY) -> AccountSpec:
    """Money whose destination is not yet known (an unmatched EFT): ``suspense:<currency>``."""
    return AccountSpec(f"suspense:{currency}", AccountKind.SUSPENSE, None, currency)


async def ensure_account(session: AsyncSession, spec: AccountSpec) -> int:
    """The id of the account with ``spec.code``, creating it on first use (safe under concurrency)."""
    # Every top-up needs its clearing account: a committed account is remembered (accounts are
    # never deleted and ids never reused), and the lookup goes straight through the driver.
    known = await connection_cache(session, "ledger_account_ids")
    if spec.code in known:
        return int(known[spec.code])
    for account_id, settled in await fetch(session, _ID_BY_CODE, {"code": spec.code}):
        if settled:
            remember(known, spec.code, int(account_id))
        return int(account_id)
    created = await session.scalar(
        insert(LedgerAccount)
        .values(code=spec.code, kind=spec.kind.value, estate_id=spec.estate_id, currency=spec.currency)
        .on_conflict_do_nothing(index_elements=["code"])
        .returning(LedgerAccount.id)
    )
    if created is not None:
        return int(created)
    # Another transaction created it between our read and our insert.
    return (
        await session.execute(select(LedgerAccount.id).where(LedgerAccount.code == spec.code))
    ).scalar_one()


async def account_currencies(session: AsyncSession, account_ids: Iterable[int]) -> Mapping[int, str]:
    """Currency of each existing account among ``account_ids`` (unknown ids are simply absent)."""
    # Remembered even when read in a transaction that has written: an account's currency never
    # changes and ids are never reused, so at worst an entry names an account whose creation
    # rolled back, and the posting's foreign key then refuses it.
    cache = await connection_cache(session, "ledger_account_currencies")
    wanted = set(account_ids)
    missing = wanted - cache.keys()
    if missing:
        query = select(LedgerAccount.id, LedgerAccount.currency).where(LedgerAccount.id.in_(missing))
        for account_id, currency in await (await session.connection()).execute(query):
            remember(cache, account_id, currency)
    return {account_id: cache[account_id] for account_id in wanted if account_id in cache}

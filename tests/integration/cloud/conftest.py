"""Fixtures for the cloud's data layer: a migrated database, an async engine, and a small estate."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.audit.actor import Actor
from cloud.database.cli import upgrade_to_head
from cloud.database.session import create_engine, transaction
from cloud.estates.models import Occupancy, WalletMode
from cloud.estates.scope import Scope
from cloud.estates.services import add_unit, create_estate
from cloud.ledger.accounts import ensure_account, revenue_account, suspense_account
from cloud.wallets.services import WalletView, open_wallet
from shared.quantities import Utility

ADMIN = Actor(
    user_id=7, role="estate_admin", source_address="203.0.113.9", reason="tenant paid cash at the office"
)
EVERYTHING = Scope.everything()


@pytest.fixture
def migrated_url(postgres_url: str) -> str:
    """A fresh database with the cloud's schema at head."""
    upgrade_to_head(postgres_url)
    return postgres_url


@pytest.fixture
async def engine(migrated_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(migrated_url, pool_size=20, max_overflow=5)
    yield engine
    await engine.dispose()


@dataclass(frozen=True)
class Estate:
    """An estate with one occupied unit and its open wallet, and the accounts tests post to."""

    estate_id: int
    unit_id: int
    wallet: WalletView
    revenue_account_id: int
    suspense_account_id: int

    def pocket(self, name: str) -> int:
        return next(p.pocket_id for p in self.wallet.pockets if p.name == name)

    def pocket_account(self, name: str) -> int:
        return next(p.account_id for p in self.wallet.pockets if p.name == name)


async def make_estate(
    engine: AsyncEngine, name: str = "Oak Park", mode: WalletMode = WalletMode.PER_UTILITY
) -> Estate:
    """Create an estate (electricity and water) with unit A1 and an open wallet."""
    async with transaction(engine) as session:
        estate = await create_estate(
            session,
            ADMIN,
            name=name,
            time_zone="Africa/Johannesburg",
            wallet_mode=mode,
            utilities=[Utility.ELECTRICITY, Utility.WATER],
        )
        unit = await add_unit(session, EVERYTHING, ADMIN, estate.id, label="A1", occupancy=Occupancy.OCCUPIED)
        wallet = await open_wallet(session, EVERYTHING, ADMIN, unit.id)
        revenue = await ensure_account(session, revenue_account(estate.id, Utility.ELECTRICITY, "ZAR"))
        suspense = await ensure_account(session, suspense_account("ZAR"))
    return Estate(estate.id, unit.id, wallet, revenue, suspense)


@pytest.fixture
async def estate(engine: AsyncEngine) -> Estate:
    return await make_estate(engine)

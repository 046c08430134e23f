"""Wallets and their pockets.

A wallet belongs to the person paying for one unit's supply (a tenancy, or an owner living in
their unit): money follows whoever loaded it, so a move-out closes the wallet with its balance
intact for refund or transfer, and the next occupant starts a new one. A unit has at most one
open wallet. Each pocket is one ledger account; an estate in ``per_utility`` mode gives a wallet a
pocket per metered utility, one in ``shared`` mode a single ``shared`` pocket.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Identity, Index, Text, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from cloud.database.models import Base, one_of


class PocketName(enum.StrEnum):
    """A pocket pays for one utility, or (``shared``) for all of them."""

    ELECTRICITY = "electricity"
    WATER = "water"
    HOT_WATER = "hot_water"
    SOLAR = "solar"
    SHARED = "shared"


class Wallet(Base):
    """Prepaid money for one unit's supply, held by one person (family members come later)."""

    __tablename__ = "wallets"
    __table_args__ = (
        Index("uq_wallets_open_per_unit", "unit_id", unique=True, postgresql_where=text("closed_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    holder_person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    tenancy_id: Mapped[int | None] = mapped_column(ForeignKey("tenancies.id"))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Pocket(Base):
    """One utility's money (or all utilities' money) in a wallet; its balance is its ledger account's."""

    __tablename__ = "pockets"
    __table_args__ = (UniqueConstraint("wallet_id", "name"), one_of("name", PocketName, "name"))

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    wallet_id: Mapped[int] = mapped_column(ForeignKey("wallets.id"))
    name: Mapped[str] = mapped_column(Text)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), unique=True)

"""Estates and the people in them: estates, units, persons, ownerships and tenancies."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Numeric,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from cloud.database.models import Base, one_of


class WalletMode(enum.StrEnum):
    """How an estate's wallets hold money: a pocket per utility, or one shared pocket."""

    PER_UTILITY = "per_utility"
    SHARED = "shared"


class Occupancy(enum.StrEnum):
    """Whether a unit is lived in; vacant and maintenance units are not billed to a tenant."""

    OCCUPIED = "occupied"
    VACANT = "vacant"
    MAINTENANCE = "maintenance"


class Estate(Base):
    """A residential estate or sectional-title scheme: one gateway's worth of units and meters.

    ``credit_policies`` maps a utility to its credit-control table (``shared.credit`` format);
    ``utilities`` lists what the estate meters, and so which pockets a per-utility wallet gets.
    """

    __tablename__ = "estates"
    __table_args__ = (
        one_of("wallet_mode", WalletMode, "wallet_mode"),
        CheckConstraint("loss_threshold_percent >= 0 AND loss_threshold_percent <= 100", name="loss_pct"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    time_zone: Mapped[str] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(Text, server_default="ZAR")
    wallet_mode: Mapped[str] = mapped_column(Text)
    utilities: Mapped[list[str]] = mapped_column(ARRAY(Text))
    credit_policies: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    loss_threshold_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), server_default="5")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Unit(Base):
    """A dwelling (or shop, or common area) in an estate."""

    __tablename__ = "units"
    __table_args__ = (
        UniqueConstraint("estate_id", "label"),
        one_of("occupancy", Occupancy, "occupancy"),
        CheckConstraint("floor_area_m2 IS NULL OR floor_area_m2 > 0", name="floor_area"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"), index=True)
    label: Mapped[str] = mapped_column(Text)
    occupancy: Mapped[str] = mapped_column(Text, server_default=Occupancy.VACANT.value)
    floor_area_m2: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))


class Person(Base):
    """An owner, tenant or family member; a person may own or rent in several estates."""

    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    full_name: Mapped[str] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text, unique=True)
    phone: Mapped[str | None] = mapped_column(Text)


class Ownership(Base):
    """A person owning a unit from ``starts_on`` until ``ends_on`` (exclusive; open if null)."""

    __tablename__ = "ownerships"
    __table_args__ = (CheckConstraint("ends_on IS NULL OR ends_on > starts_on", name="dates"),)

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)


class Tenancy(Base):
    """A person renting (or owner-occupying) a unit from ``starts_on`` until ``ends_on`` (exclusive)."""

    __tablename__ = "tenancies"
    __table_args__ = (CheckConstraint("ends_on IS NULL OR ends_on > starts_on", name="dates"),)

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)

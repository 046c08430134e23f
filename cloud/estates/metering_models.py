"""An estate's metering configuration: gateways, meters, and effective-dated tariffs."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

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
from sqlalchemy.orm import Mapped, mapped_column

from cloud.database.models import Base, one_of
from shared.quantities import Utility


class GatewayStatus(enum.StrEnum):
    """Lifecycle of a gateway: created, enrolled and talking, or taken out of service."""

    PENDING = "pending"
    ACTIVE = "active"
    RETIRED = "retired"


class MeterRole(enum.StrEnum):
    """What a meter measures for: one unit, the estate's supply (bulk), or common property."""

    UNIT = "unit"
    BULK = "bulk"
    COMMON_PROPERTY = "common_property"


class Gateway(Base):
    """The estate's edge device; its keys and enrolment belong to the gateways context."""

    __tablename__ = "gateways"
    __table_args__ = (UniqueConstraint("estate_id", "name"), one_of("status", GatewayStatus, "status"))

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"), index=True)
    name: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default=GatewayStatus.PENDING.value)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Meter(Base):
    """A physical meter: a unit's, the estate's bulk supply, or common property's.

    A unit meter must name its unit; bulk and common-property meters may not.
    """

    __tablename__ = "meters"
    __table_args__ = (
        UniqueConstraint("firmware_profile_id", "serial"),
        one_of("role", MeterRole, "role"),
        one_of("utility", Utility, "utility"),
        CheckConstraint("(role = 'unit') = (unit_id IS NOT NULL)", name="unit_role"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    gateway_id: Mapped[int | None] = mapped_column(ForeignKey("gateways.id"), index=True)
    utility: Mapped[str] = mapped_column(Text)
    serial: Mapped[str] = mapped_column(Text)
    firmware_profile_id: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)


class Tariff(Base):
    """The tariff an estate charges for one utility; its prices live in effective-dated versions."""

    __tablename__ = "tariffs"
    __table_args__ = (UniqueConstraint("estate_id", "utility"), one_of("utility", Utility, "utility"))

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"), index=True)
    utility: Mapped[str] = mapped_column(Text)


class TariffVersion(Base):
    """One version of a tariff as its TOML text, with the name and start date parsed from it.

    The text is stored unchanged so the gateway and the cloud rate from exactly the same bytes.
    """

    __tablename__ = "tariff_versions"
    __table_args__ = (UniqueConstraint("tariff_id", "effective_from"),)

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    tariff_id: Mapped[int] = mapped_column(ForeignKey("tariffs.id"), index=True)
    name: Mapped[str] = mapped_column(Text)
    effective_from: Mapped[date] = mapped_column(Date)
    toml_text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class MeterReplacement(Base):
    """A meter swapped at its metering point: the serial before and after, and what the installer
    read off the two displays (kWh or kL, as the meters show them; null when not given).

    The meter's own row carries the new serial; this row is the history, and the latest one whose
    ``new_serial`` is the meter's serial gives the gateway the readings to bill across the swap.
    """

    __tablename__ = "meter_replacements"
    __table_args__ = (
        CheckConstraint("old_serial <> new_serial", name="serial_changes"),
        CheckConstraint("old_meter_final_reading >= 0", name="old_meter_final_reading"),
        CheckConstraint("new_meter_first_reading >= 0", name="new_meter_first_reading"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id"), index=True)
    old_serial: Mapped[str] = mapped_column(Text)
    new_serial: Mapped[str] = mapped_column(Text)
    old_meter_final_reading: Mapped[Decimal | None] = mapped_column(Numeric)
    new_meter_first_reading: Mapped[Decimal | None] = mapped_column(Numeric)
    replaced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(Text)
    recorded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("auth_users.id"))
    recorded_by_role: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

"""The D0010 tables: flow files → MPAN cores → meters → register readings, and MPAN links.

Date-times of readings are ``timestamp without time zone``: UK local time exactly as the flow
carries it (see ``cloud/d0010/model.py`` for why nothing is converted on the way in). Register
readings are ``numeric(9, 1)``, the catalogue's NUM(9,1), so a value round-trips to the digit.
A reading is unique per meter, register and date-time: a second file carrying a different value
for the same key is a conflict the import reports, never an overwrite.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from cloud.d0010.model import ImportStatus
from cloud.database.models import Base, one_of


class FlowFile(Base):
    """One imported D0010 file: who sent it, its report, and who imported it when.

    Only files that stored readings (``imported`` or ``partial``) have a row: a rejected file writes
    nothing, and a duplicate is recognised by the two unique keys below.
    """

    __tablename__ = "d0010_files"
    __table_args__ = (
        UniqueConstraint("from_role", "from_participant", "file_id", name="uq_d0010_files_sender_file_id"),
        UniqueConstraint("sha256", name="uq_d0010_files_sha256"),
        one_of("status", ImportStatus, "status"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    file_name: Mapped[str] = mapped_column(Text)
    file_id: Mapped[str] = mapped_column(Text)
    from_role: Mapped[str] = mapped_column(Text)
    from_participant: Mapped[str] = mapped_column(Text)
    to_role: Mapped[str] = mapped_column(Text)
    to_participant: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=False))
    test_flag: Mapped[str] = mapped_column(Text)
    is_test: Mapped[bool] = mapped_column(Boolean)
    sha256: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    mpans: Mapped[int] = mapped_column(Integer)
    readings: Mapped[int] = mapped_column(Integer)
    readings_stored: Mapped[int] = mapped_column(Integer)
    errors_total: Mapped[int] = mapped_column(Integer)
    warnings_total: Mapped[int] = mapped_column(Integer)
    report: Mapped[dict[str, Any]] = mapped_column(JSONB)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    imported_by_user_id: Mapped[int | None]
    imported_by_role: Mapped[str] = mapped_column(Text)
    source_address: Mapped[str | None] = mapped_column(Text)


class SupplyPoint(Base):
    """An MPAN core (a supply point) seen in a flow or linked to an estate."""

    __tablename__ = "d0010_mpans"
    __table_args__ = (UniqueConstraint("mpan_core", name="uq_d0010_mpans_mpan_core"),)

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    mpan_core: Mapped[str] = mapped_column(Text)


class SupplyMeter(Base):
    """A meter (J0004 meter id, kept exactly as written) read under an MPAN core."""

    __tablename__ = "d0010_meters"
    __table_args__ = (UniqueConstraint("mpan_ref", "meter_id", name="uq_d0010_meters_mpan_meter"),)

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    # No foreign key (see RegisterReading): only the importer writes meters, from a join on MPANs.
    mpan_ref: Mapped[int]
    meter_id: Mapped[str] = mapped_column(Text)


class RegisterReading(Base):
    """One 030 register reading with its 026/028 context, its 032 (if any) and where it came from."""

    __tablename__ = "d0010_readings"
    __table_args__ = (Index("ix_d0010_readings_file_ref", "file_ref", postgresql_using="brin"),)

    # The key is the primary key: no surrogate id (one index and a sequence less per reading).
    # No foreign keys: per-row RI checks cost more than the rest of a bulk insert, and the one
    # writer (storage.py) takes meter_ref and file_ref from joins in the same transaction.
    meter_ref: Mapped[int] = mapped_column(primary_key=True)
    register_id: Mapped[str] = mapped_column(Text, primary_key=True)
    reading_at: Mapped[datetime] = mapped_column(DateTime(timezone=False), primary_key=True)
    register_reading: Mapped[Decimal] = mapped_column(Numeric(9, 1))
    reading_type: Mapped[str] = mapped_column(Text)
    bsc_validation_status: Mapped[str] = mapped_column(Text)
    md_reset_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=False))
    md_reset_count: Mapped[int | None] = mapped_column(SmallInteger)
    meter_reading_flag: Mapped[bool | None] = mapped_column(Boolean)
    reading_method: Mapped[str] = mapped_column(Text)
    reason_code: Mapped[str | None] = mapped_column(Text)
    reading_status: Mapped[bool | None] = mapped_column(Boolean)
    file_ref: Mapped[int]
    line: Mapped[int] = mapped_column(Integer)


class MpanLink(Base):
    """An MPAN core feeding an estate's bulk supply, optionally a named bulk meter of that estate."""

    __tablename__ = "d0010_mpan_links"
    __table_args__ = (UniqueConstraint("mpan_ref", name="uq_d0010_mpan_links_mpan_ref"),)

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    mpan_ref: Mapped[int] = mapped_column(ForeignKey("d0010_mpans.id"))
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"), index=True)
    bulk_meter_id: Mapped[int | None] = mapped_column(ForeignKey("meters.id"))
    linked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

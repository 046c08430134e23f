"""The audit trail table: append-only, one row per change to money or configuration."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Identity, Index, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from cloud.database.models import Base


class AuditRecord(Base):
    """Who did what to which object, when, from where, why, and its state before and after.

    ``estate_id`` lets scoped queries filter the trail; ``before``/``after`` are JSON snapshots of
    the fields that changed (``None`` before a creation). Triggers refuse UPDATE and DELETE.
    """

    __tablename__ = "audit_records"
    __table_args__ = (
        Index("ix_audit_records_subject", "subject_type", "subject_id"),
        Index("ix_audit_records_estate_id_occurred_at", "estate_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor_user_id: Mapped[int | None]
    actor_role: Mapped[str] = mapped_column(Text)
    source_address: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    subject_type: Mapped[str] = mapped_column(Text)
    subject_id: Mapped[str] = mapped_column(Text)
    estate_id: Mapped[int | None]
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)

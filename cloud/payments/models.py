"""Expected EFTs: a bank transfer an administrator is told about, posted when it is seen in the bank."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Identity, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from cloud.database.models import Base, one_of


class EftStatus(enum.StrEnum):
    """An EFT is expected until the money is seen in the bank and marked received."""

    EXPECTED = "expected"
    RECEIVED = "received"


class ExpectedEft(Base):
    """A transfer with a payer's reference and amount, destined for one wallet pocket.

    The reference is unique per estate: it is what the administrator matches on the bank statement.
    ``posting_seq`` is the ledger posting made when it was marked received.
    """

    __tablename__ = "expected_efts"
    __table_args__ = (
        UniqueConstraint("estate_id", "reference"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("(status = 'received') = (posting_seq IS NOT NULL)", name="received_posting"),
        one_of("status", EftStatus, "status"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"))
    pocket_id: Mapped[int] = mapped_column(ForeignKey("pockets.id"), index=True)
    reference: Mapped[str] = mapped_column(Text)
    amount_cents: Mapped[int]
    status: Mapped[str] = mapped_column(Text, server_default=EftStatus.EXPECTED.value)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by_user_id: Mapped[int | None]
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    received_by_user_id: Mapped[int | None]
    posting_seq: Mapped[int | None] = mapped_column(ForeignKey("ledger_postings.seq"))

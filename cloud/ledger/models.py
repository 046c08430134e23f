"""The ledger's tables: accounts with their balance rows, postings, the chain head, closed periods.

Database triggers (created by the migration) refuse UPDATE, DELETE and TRUNCATE on postings and
closed periods, and refuse a posting dated inside a closed period.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    LargeBinary,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from cloud.database.models import Base, one_of
from cloud.ledger.domain import AccountKind, PostingKind


class LedgerAccount(Base):
    """An account, and its balance row kept up to date in every posting's transaction.

    ``balance_cents`` is credits minus debits (see :mod:`cloud.ledger.domain`); ``last_seq`` is the
    last posting that touched it. ``code`` is the account's stable name, e.g. ``pocket:17``.
    """

    __tablename__ = "ledger_accounts"
    __table_args__ = (
        one_of("kind", AccountKind, "kind"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    kind: Mapped[str] = mapped_column(Text)
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estates.id"), index=True)
    currency: Mapped[str] = mapped_column(Text)
    balance_cents: Mapped[int] = mapped_column(server_default="0")
    last_seq: Mapped[int] = mapped_column(server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Posting(Base):
    """One movement of ``amount_cents`` from the debit account to the credit account.

    ``seq`` is the posting's place in the hash chain (1, 2, 3… with no gaps) and its identity.
    """

    __tablename__ = "ledger_postings"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("debit_account_id <> credit_account_id", name="two_accounts"),
        CheckConstraint("octet_length(hash) = 32", name="hash_length"),
        one_of("kind", PostingKind, "kind"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    idempotency_key: Mapped[str] = mapped_column(Text, unique=True)
    kind: Mapped[str] = mapped_column(Text)
    debit_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    credit_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    amount_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(Text)
    effective_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    posted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    memo: Mapped[str] = mapped_column(Text)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class ChainHead(Base):
    """The single row every posting transaction locks: the last seq and hash of the chain."""

    __tablename__ = "ledger_chain_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int]
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class ClosedPeriod(Base):
    """A closed accounting period [starts_at, ends_at): no posting may be dated inside it."""

    __tablename__ = "ledger_closed_periods"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="range"),)

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    closed_by_user_id: Mapped[int | None]
    reason: Mapped[str] = mapped_column(Text)


class LedgerVerification(Base):
    """The result of one ledger verification, one row per chain position verified through."""

    __tablename__ = "ledger_verifications"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    through_seq: Mapped[int] = mapped_column(unique=True)
    ok: Mapped[bool] = mapped_column(Boolean)
    report: Mapped[dict[str, Any]] = mapped_column(JSONB)
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

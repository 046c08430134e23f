"""The access tables: users, the estates a user's role binds to, browser sessions and API keys.

Owners and tenants bind through their person (ownerships and tenancies say which units and wallets
are theirs, so a move-out ends access without touching the user); estate roles bind to estates.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Identity, LargeBinary, Text, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

import cloud.estates.models  # noqa: F401  -- the persons and estates tables the foreign keys name
from cloud.database.models import Base, one_of


class Role(enum.StrEnum):
    """What a user is to the platform; each role binds to different objects."""

    SUPER_ADMIN = "super_admin"
    MANAGING_AGENT = "managing_agent"
    BODY_CORPORATE = "body_corporate"
    OWNER = "owner"
    TENANT = "tenant"
    INSTALLER = "installer"


#: Roles bound to a person (their ownerships or tenancies), not to estates.
PERSON_ROLES = frozenset({Role.OWNER, Role.TENANT})
#: Roles bound to a set of estates.
ESTATE_ROLES = frozenset({Role.MANAGING_AGENT, Role.BODY_CORPORATE, Role.INSTALLER})


class User(Base):
    """Someone who signs in with an email address and a password (scrypt hash, never the text)."""

    __tablename__ = "auth_users"
    __table_args__ = (
        one_of("role", Role, "role"),
        CheckConstraint("(role IN ('owner', 'tenant')) = (person_id IS NOT NULL)", name="person_role"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    email: Mapped[str] = mapped_column(Text, unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class UserEstate(Base):
    """An estate a managing agent, body corporate or installer user works for."""

    __tablename__ = "auth_user_estates"

    user_id: Mapped[int] = mapped_column(ForeignKey("auth_users.id"), primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"), primary_key=True, index=True)


class BrowserSession(Base):
    """A signed-in browser: the cookie holds a random token, the table its SHA-256 only."""

    __tablename__ = "auth_sessions"

    token_hash: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("auth_users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(Text)
    source_address: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiKey(Base):
    """An integration's key: scoped to estates and permissions, shown once, stored hashed, revocable."""

    __tablename__ = "auth_api_keys"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    key_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    prefix: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    created_by_user_id: Mapped[int] = mapped_column(ForeignKey("auth_users.id"))
    estate_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))
    permissions: Mapped[list[str]] = mapped_column(ARRAY(Text))
    rate_per_minute: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PasswordReset(Base):
    """A one-time password reset token: its SHA-256 only, an expiry, and when it was used.

    ``issued_by_user_id`` names the administrator who issued it, or is null for a reset the user
    requested for themselves.
    """

    __tablename__ = "auth_password_resets"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("auth_users.id"), index=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    issued_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("auth_users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

"""Signing in and out, and resolving a session cookie or API key to the user or key behind it.

Only hashes are stored: a session token's or API key's SHA-256 (both are 256 random bits, so a
fast hash is enough), a password's scrypt. The plain token is returned once, to its owner.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.errors import NotAuthenticated
from cloud.auth.models import BrowserSession, Role, User
from cloud.auth.passwords import dummy_verify, verify_password

SESSION_LIFETIME = timedelta(hours=12)
API_KEY_PREFIX = "qk_"
EMAIL_MAX_CHARS = 254


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session just opened: the cookie's token and the CSRF token, each shown to the browser once."""

    token: str
    csrf_token: str
    user_id: int
    role: Role
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class KeyHolder:
    """What a valid API key may do: its estates, permissions and rate."""

    key_id: int
    created_by_user_id: int
    estate_ids: frozenset[int]
    permissions: frozenset[str]
    rate_per_minute: int


def token_hash(token: str) -> bytes:
    """SHA-256 of a session token or API key: what the tables store and look up."""
    return hashlib.sha256(token.encode()).digest()


async def sign_in(session: AsyncSession, email: str, password: str, source_address: str | None) -> NewSession:
    """Check the password and open a session; any failure reads the same, so emails cannot be probed."""
    email = email.strip().lower()[:EMAIL_MAX_CHARS]
    user = await session.scalar(select(User).where(User.email == email, User.disabled_at.is_(None)))
    if user is None:
        dummy_verify(password)
        raise NotAuthenticated("email or password not recognised; check both and try again")
    if not verify_password(password, user.password_hash):
        raise NotAuthenticated("email or password not recognised; check both and try again")
    # Each sign-in sweeps the user's own expired sessions, so the table never grows without bound.
    await session.execute(
        delete(BrowserSession).where(
            BrowserSession.user_id == user.id, BrowserSession.expires_at < func.now()
        )
    )
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires_at = datetime.now(UTC) + SESSION_LIFETIME
    session.add(
        BrowserSession(
            token_hash=token_hash(token),
            user_id=user.id,
            csrf_token=csrf,
            source_address=source_address,
            expires_at=expires_at,
        )
    )
    await session.flush()
    return NewSession(token, csrf, user.id, Role(user.role), expires_at)


async def sign_out(session: AsyncSession, token: str) -> None:
    """End the session with this cookie token (ending an unknown one is not an error)."""
    await session.execute(delete(BrowserSession).where(BrowserSession.token_hash == token_hash(token)))


_KEY_HOLDER = text(
    """
    SELECT k.id, k.created_by_user_id, k.estate_ids, k.permissions, k.rate_per_minute
    FROM auth_api_keys k JOIN auth_users u ON u.id = k.created_by_user_id
    WHERE k.key_hash = :hash AND k.revoked_at IS NULL AND u.disabled_at IS NULL
    """
)


async def key_holder(session: AsyncSession, key: str) -> KeyHolder:
    """What a live API key may do, or :class:`NotAuthenticated` (unknown, revoked, creator disabled)."""
    if not key.startswith(API_KEY_PREFIX):
        raise NotAuthenticated(f"API keys start with {API_KEY_PREFIX!r}; send 'Authorization: Bearer <key>'")
    row = (await session.execute(_KEY_HOLDER, {"hash": token_hash(key)})).one_or_none()
    if row is None:
        raise NotAuthenticated("API key not recognised or revoked; ask an administrator for a new one")
    return KeyHolder(
        row.id,
        row.created_by_user_id,
        frozenset(row.estate_ids),
        frozenset(row.permissions),
        row.rate_per_minute,
    )


def new_api_key() -> str:
    """A fresh API key: the prefix and 256 random bits."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)

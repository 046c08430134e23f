"""Password resets with one-time tokens: issued by an administrator or requested by the user.

A token is 256 random bits, shown once and stored as its SHA-256 only; it expires, works once, and
issuing a new one for a user withdraws that user's older unused tokens. Using it sets the new
password (the same rules as everywhere, ``check_password_rules``), withdraws every other token of the
user and ends all the user's browser sessions. Every step is audited; the token never is.

There is no mail server: an administrator's token is returned to that administrator, who hands it
over; a self-service request writes the token to the ``quantify.outbox`` log, where an operator or a
mail relay picks it up (see docs/api.md). The request answers the same whether or not the address is
known, so it cannot be used to probe for accounts.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.audit.actor import Actor
from cloud.audit.services import record
from cloud.auth.credentials import EMAIL_MAX_CHARS, token_hash
from cloud.auth.errors import PermissionDenied
from cloud.auth.models import BrowserSession, PasswordReset, User
from cloud.auth.passwords import hash_password
from cloud.auth.permissions import Permission
from cloud.auth.principal import Principal
from cloud.auth.users import require_administers, visible_user
from cloud.errors import ValidationFailed

#: An administrator hands the token over by some other channel: give them a working day.
ISSUED_LIFETIME = timedelta(hours=24)
#: A self-service token travels through the outbox: short, as it sits in a log.
REQUESTED_LIFETIME = timedelta(hours=1)
#: Marks a reset token for what it is when someone pastes it in the wrong place.
RESET_PREFIX = "qr_"

outbox = logging.getLogger("quantify.outbox")


@dataclass(frozen=True, slots=True)
class IssuedReset:
    """A reset token just issued: ``token`` is its only appearance in plain text."""

    reset_id: int
    user_id: int
    token: str
    expires_at: datetime


async def issue_reset(session: AsyncSession, caller: Principal, user_id: int, *, reason: str) -> IssuedReset:
    """An administrator issues a reset token for a user they administer (404 if unseen, 403 if the
    user reaches beyond the caller's estates or the caller may not manage users)."""
    user = await visible_user(session, caller, user_id)
    caller.require(Permission.USERS_MANAGE)
    if caller.user_id is None or caller.api_key_id is not None:
        raise PermissionDenied("password resets are issued by a signed-in administrator, not by an API key")
    require_administers(caller, user)
    issued = await _new_token(session, user.id, issued_by=caller.user_id, lifetime=ISSUED_LIFETIME)
    await _audit(
        session,
        caller.actor(reason),
        "user.password_reset_issue",
        user.id,
        {"reset_id": issued.reset_id, "expires_at": issued.expires_at.isoformat()},
        estate_id=min(user.reached_estate_ids, default=None),
    )
    return issued


async def request_reset(session: AsyncSession, email: str, *, source_address: str | None) -> None:
    """A user asks for a reset of their own password: the token goes to the outbox, if the address
    belongs to an active user; nothing tells the caller whether it did."""
    email = email.strip().lower()[:EMAIL_MAX_CHARS]
    user = await session.scalar(select(User).where(User.email == email, User.disabled_at.is_(None)))
    if user is None:
        return
    issued = await _new_token(session, user.id, issued_by=None, lifetime=REQUESTED_LIFETIME)
    actor = Actor(None, "anonymous", source_address, "self-service password reset request")
    after = {"reset_id": issued.reset_id, "expires_at": issued.expires_at.isoformat()}
    await _audit(session, actor, "user.password_reset_request", user.id, after)
    outbox.warning(
        "to %s: password reset token %s (valid until %s); POST it with a new password to "
        "/api/v1/auth/password-reset",
        email,
        issued.token,
        issued.expires_at.isoformat(),
    )


_REDEEM = text(
    """
    SELECT r.id, r.user_id, r.issued_by_user_id, u.role
    FROM auth_password_resets r JOIN auth_users u ON u.id = r.user_id
    WHERE r.token_hash = :hash AND r.used_at IS NULL AND r.expires_at > now() AND u.disabled_at IS NULL
    FOR UPDATE OF r
    """
)


async def reset_password(
    session: AsyncSession, token: str, new_password: str, *, source_address: str | None
) -> int:
    """Set a new password with a live token; returns the user's id. The token is then spent, the
    user's other tokens withdrawn and all their sessions ended."""
    row = (await session.execute(_REDEEM, {"hash": token_hash(token.strip())})).one_or_none()
    if row is None:
        raise ValidationFailed("token: not recognised, already used or expired; ask for a new password reset")
    password_hash = hash_password(new_password)  # refuses a password the rules do not allow
    now = datetime.now(UTC)
    await session.execute(update(User).where(User.id == row.user_id).values(password_hash=password_hash))
    await session.execute(update(PasswordReset).where(PasswordReset.id == row.id).values(used_at=now))
    await _withdraw_unused(session, row.user_id)
    ended = await session.execute(delete(BrowserSession).where(BrowserSession.user_id == row.user_id))
    actor = Actor(row.user_id, row.role, source_address, "password reset with a one-time token")
    after = {
        "reset_id": row.id,
        "issued_by_user_id": row.issued_by_user_id,
        "sessions_ended": ended.rowcount,  # type: ignore[attr-defined]
    }
    await _audit(session, actor, "user.password_reset", row.user_id, after)
    return int(row.user_id)


async def _new_token(
    session: AsyncSession, user_id: int, *, issued_by: int | None, lifetime: timedelta
) -> IssuedReset:
    await _withdraw_unused(session, user_id)
    token = RESET_PREFIX + secrets.token_urlsafe(32)
    expires_at = datetime.now(UTC) + lifetime
    reset = PasswordReset(
        user_id=user_id, token_hash=token_hash(token), issued_by_user_id=issued_by, expires_at=expires_at
    )
    session.add(reset)
    await session.flush()
    return IssuedReset(reset.id, user_id, token, expires_at)


async def _withdraw_unused(session: AsyncSession, user_id: int) -> None:
    # Only the newest token of a user works; spent ones stay as the record of what happened.
    await session.execute(
        delete(PasswordReset).where(PasswordReset.user_id == user_id, PasswordReset.used_at.is_(None))
    )


async def _audit(
    session: AsyncSession,
    actor: Actor,
    action: str,
    user_id: int,
    after: dict[str, object],
    *,
    estate_id: int | None = None,
) -> None:
    await record(session, actor, action, ("user", user_id), estate_id=estate_id, before=None, after=after)

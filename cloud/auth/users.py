"""Which users a caller administers: listing them, and finding one user within that reach.

A platform administrator sees every user. A managing agent or body corporate sees the users with a
role in their estates: those bound to one of them (agents, trustees, installers) and the owners and
tenants whose ownerships, tenancies or held wallets, past or present, lie in one of them. Other
roles, and API keys without ``users:manage``, do not see users at all ("not found", like any kind
they never see).

Seeing a user is not enough to act for them: :func:`require_administers` also asks that every
estate the user reaches lies within the caller's, so an agent cannot take over (by resetting its
password) a login that opens another estate's data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.errors import PermissionDenied
from cloud.auth.models import Role
from cloud.auth.permissions import DELEGABLE_BY_AGENT, Kind
from cloud.auth.principal import Principal
from cloud.errors import NotFound

#: Most users one page lists.
PAGE_MAX = 200


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A user as an administrator sees it: never the password hash."""

    id: int
    email: str
    role: Role
    person_id: int | None
    estate_ids: tuple[int, ...]
    """The estates an estate role is bound to; empty for owners, tenants and platform admins."""
    reached_estate_ids: tuple[int, ...]
    """Every estate the user's role opens: bound estates, or those of their units."""
    created_at: datetime
    disabled_at: datetime | None


# Users with :ids filter (NULL: everyone), the caller's estates (NULL: every estate), and a cursor.
_USERS = text(
    """
    WITH reach AS (
        SELECT user_id, estate_id FROM auth_user_estates
        UNION
        SELECT u.id, un.estate_id FROM auth_users u
        JOIN ownerships o ON o.person_id = u.person_id AND u.role = 'owner' JOIN units un ON un.id = o.unit_id
        UNION
        SELECT u.id, un.estate_id FROM auth_users u
        JOIN tenancies t ON t.person_id = u.person_id AND u.role = 'tenant' JOIN units un ON un.id = t.unit_id
        UNION
        SELECT u.id, w.estate_id FROM auth_users u
        JOIN wallets w ON w.holder_person_id = u.person_id AND u.role = 'tenant'
    )
    SELECT u.id, u.email, u.role, u.person_id, u.created_at, u.disabled_at,
        ARRAY(SELECT e.estate_id FROM auth_user_estates e WHERE e.user_id = u.id ORDER BY 1) AS estate_ids,
        ARRAY(SELECT r.estate_id FROM reach r WHERE r.user_id = u.id ORDER BY 1) AS reached_estate_ids
    FROM auth_users u
    WHERE u.id > :after
      AND (CAST(:user_id AS bigint) IS NULL OR u.id = :user_id)
      AND (CAST(:estates AS bigint[]) IS NULL
           OR u.id IN (SELECT user_id FROM reach WHERE estate_id = ANY(CAST(:estates AS bigint[]))))
    ORDER BY u.id
    LIMIT :limit
    """
)


async def list_users(
    session: AsyncSession, caller: Principal, *, after_id: int = 0, limit: int = 50
) -> Sequence[UserRecord]:
    """The users the caller sees, by id, after ``after_id``; at most ``limit`` (1 to PAGE_MAX)."""
    caller.require_kind(Kind.USER, "users")
    return await _users(session, caller, after_id=after_id, limit=min(max(limit, 1), PAGE_MAX))


async def visible_user(session: AsyncSession, caller: Principal, user_id: int) -> UserRecord:
    """One user the caller sees, else :class:`NotFound` (whether or not the user exists)."""
    caller.require_kind(Kind.USER, f"user {user_id}")
    found = await _users(session, caller, after_id=0, limit=1, user_id=user_id)
    if not found:
        raise NotFound(f"user {user_id} not found")
    return found[0]


def require_administers(caller: Principal, user: UserRecord) -> None:
    """Refuse (403) acting for a visible user unless the caller's estates cover all the user reaches
    and the user's role is one the caller could have created."""
    estates = caller.scope.estate_ids
    if estates is None:
        return
    if user.role not in DELEGABLE_BY_AGENT or not set(user.reached_estate_ids) <= estates:
        raise PermissionDenied(
            f"user {user.id} ({user.role.value}) has access beyond your estates; "
            "ask a platform administrator to act for them"
        )


async def _users(
    session: AsyncSession, caller: Principal, *, after_id: int, limit: int, user_id: int | None = None
) -> list[UserRecord]:
    estates = caller.scope.estate_ids
    params = {
        "after": after_id,
        "user_id": user_id,
        "estates": None if estates is None else sorted(estates),
        "limit": limit,
    }
    rows = (await session.execute(_USERS, params)).all()
    return [
        UserRecord(
            id=row.id,
            email=row.email,
            role=Role(row.role),
            person_id=row.person_id,
            estate_ids=tuple(row.estate_ids),
            reached_estate_ids=tuple(row.reached_estate_ids),
            created_at=row.created_at,
            disabled_at=row.disabled_at,
        )
        for row in rows
    ]

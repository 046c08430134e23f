"""The caller as the services see them: an :class:`Actor` for the audit trail and a :class:`Scope`.

A :class:`Principal` is built once per request from the session or API key. Services already
filter by estate and wallet (``Scope``); the API adds the two finer levels the services do not
know: which kinds of object a role sees, and which units an owner or tenant sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cloud.audit.actor import Actor
from cloud.auth.credentials import token_hash
from cloud.auth.errors import NotAuthenticated, PermissionDenied
from cloud.auth.models import ESTATE_ROLES, Role
from cloud.auth.permissions import ALL_KINDS, ROLE_KINDS, ROLE_PERMISSIONS, Kind, Permission
from cloud.errors import NotFound
from cloud.estates.scope import Scope


@dataclass(frozen=True, slots=True)
class Principal:
    """A signed-in user or an API key, with everything needed to scope and audit a request.

    ``unit_ids``/``person_ids`` of ``None`` mean every unit/person the scope's estates allow.
    """

    user_id: int | None
    role: str
    scope: Scope
    kinds: frozenset[Kind]
    permissions: frozenset[Permission]
    unit_ids: frozenset[int] | None = None
    person_ids: frozenset[int] | None = None
    source_address: str | None = None
    api_key_id: int | None = None
    csrf_token: str | None = field(default=None, repr=False)

    def actor(self, reason: str) -> Actor:
        """The audit trail's view of this caller, with the reason the request gave."""
        return Actor(self.user_id, self.role, self.source_address, reason)

    def require(self, permission: Permission) -> None:
        """Refuse a change this role may not make (the object is already known to be visible)."""
        if permission not in self.permissions:
            raise PermissionDenied(
                f"your role ({self.role}) may not do this ({permission.value}); "
                "ask your managing agent or a platform administrator"
            )

    def require_kind(self, kind: Kind, what: str) -> None:
        """Answer "not found" for a kind of object this caller never sees."""
        if kind not in self.kinds:
            raise NotFound(f"{what} not found")

    def allows_unit(self, estate_id: int, unit_id: int) -> bool:
        """Whether this unit (and its meters, ownerships, tenancies) is visible."""
        return self.scope.allows_estate(estate_id) and (self.unit_ids is None or unit_id in self.unit_ids)

    def require_unit(self, estate_id: int, unit_id: int, what: str) -> None:
        """Raise :class:`NotFound` naming ``what`` unless the unit is visible."""
        if not self.allows_unit(estate_id, unit_id):
            raise NotFound(f"{what} not found")

    def allows_person(self, person_id: int) -> bool:
        """Whether the person's record is visible beyond the services' estate check."""
        return self.person_ids is None or person_id in self.person_ids


#: Everything a session cookie stands for, in one round trip: the user, their CSRF token, and the
#: objects their role binds to (estates for estate roles; units, wallets and their estates for
#: owners and tenants). Owners see the units they own today and every wallet of those units;
#: tenants the unit they rent today and every wallet they hold or held (money follows the person).
#: Written in the driver's own parameter style (``%(hash)s``) so the hot read paths can run it, with
#: their own query appended, straight on a driver connection (``cloud.api.balances``).
SESSION_PRINCIPAL_CTE = """
    WITH me AS (
        SELECT u.id, u.role, u.person_id, s.csrf_token
        FROM auth_sessions s JOIN auth_users u ON u.id = s.user_id
        WHERE s.token_hash = %(hash)s AND s.expires_at > now() AND u.disabled_at IS NULL
    ), bound AS (
        SELECT NULL::bigint AS unit_id, e.estate_id, NULL::bigint AS wallet_id
        FROM auth_user_estates e JOIN me ON e.user_id = me.id
        UNION ALL
        SELECT un.id, un.estate_id, w.id
        FROM me JOIN ownerships o ON o.person_id = me.person_id AND me.role = 'owner'
        JOIN units un ON un.id = o.unit_id LEFT JOIN wallets w ON w.unit_id = un.id
        WHERE o.starts_on <= %(today)s AND (o.ends_on IS NULL OR o.ends_on > %(today)s)
        UNION ALL
        SELECT t.unit_id, un.estate_id, NULL
        FROM me JOIN tenancies t ON t.person_id = me.person_id AND me.role = 'tenant'
        JOIN units un ON un.id = t.unit_id
        WHERE t.starts_on <= %(today)s AND (t.ends_on IS NULL OR t.ends_on > %(today)s)
        UNION ALL
        SELECT NULL, w.estate_id, w.id
        FROM me JOIN wallets w ON me.role = 'tenant' AND (w.holder_person_id = me.person_id
            OR w.tenancy_id IN (SELECT id FROM tenancies WHERE person_id = me.person_id))
    ), principal AS (
        SELECT me.id AS user_id, me.role, me.person_id, me.csrf_token,
            ARRAY(SELECT DISTINCT unit_id FROM bound WHERE unit_id IS NOT NULL) AS unit_ids,
            ARRAY(SELECT DISTINCT estate_id FROM bound) AS estate_ids,
            ARRAY(SELECT DISTINCT wallet_id FROM bound WHERE wallet_id IS NOT NULL) AS wallet_ids
        FROM me
    )
"""
_SESSION_PRINCIPAL = SESSION_PRINCIPAL_CTE + "SELECT * FROM principal"  # noqa: S608 -- constants only
SESSION_ENDED = "your session has ended; sign in again at POST /api/v1/auth/login"


def session_parameters(token: str, today: date) -> dict[str, object]:
    """The parameters :data:`SESSION_PRINCIPAL_CTE` takes for a session cookie's token."""
    return {"hash": token_hash(token), "today": today}


async def session_principal(
    session: AsyncSession, token: str, *, today: date, source_address: str | None
) -> Principal:
    """The principal behind a session cookie, or :class:`NotAuthenticated` if the session is over."""
    connection = await session.connection()
    result = await connection.exec_driver_sql(_SESSION_PRINCIPAL, session_parameters(token, today))
    row = result.one_or_none()
    if row is None:
        raise NotAuthenticated(SESSION_ENDED)
    return principal_of_session(row, source_address)


def principal_of_session(row: Any, source_address: str | None) -> Principal:
    """The principal from a row of :data:`SESSION_PRINCIPAL_CTE`'s ``principal`` (any row type with
    its columns as attributes)."""
    role = Role(row.role)
    principal = Principal(
        user_id=row.user_id,
        role=role.value,
        scope=Scope.everything(),
        kinds=ROLE_KINDS[role],
        permissions=ROLE_PERMISSIONS[role],
        source_address=source_address,
        csrf_token=row.csrf_token,
    )
    estates = frozenset(row.estate_ids)
    if role is Role.SUPER_ADMIN:
        return principal
    if role in ESTATE_ROLES:
        # Installers work on gateways and meters: an empty wallet set hides all money from them.
        wallets = frozenset[int]() if role is Role.INSTALLER else None
        return replace(principal, scope=Scope(estate_ids=estates, wallet_ids=wallets))
    return replace(
        principal,
        scope=Scope.wallets(estates, frozenset(row.wallet_ids)),
        unit_ids=frozenset(row.unit_ids),
        person_ids=frozenset({row.person_id}),
    )


def api_key_principal(
    *,
    key_id: int,
    created_by: int,
    estate_ids: frozenset[int],
    permissions: frozenset[Permission],
    source: str,
) -> Principal:
    """The principal of an API key: its estates and permissions, reads of every kind in them (users
    only for a key that may manage them: an integration has no business with people's logins)."""
    kinds = ALL_KINDS if Permission.USERS_MANAGE in permissions else ALL_KINDS - {Kind.USER}
    return Principal(
        user_id=created_by,
        role=f"api_key:{key_id}",
        scope=Scope.estates(*estate_ids),
        kinds=kinds,
        permissions=permissions,
        source_address=source,
        api_key_id=key_id,
    )

"""Managing access: users with their role bindings, and API keys; every change audited."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.audit.services import record
from cloud.auth.credentials import new_api_key, token_hash
from cloud.auth.models import ESTATE_ROLES, PERSON_ROLES, ApiKey, Role, User, UserEstate
from cloud.auth.passwords import hash_password
from cloud.auth.permissions import DELEGABLE_BY_AGENT, Kind, Permission
from cloud.auth.principal import Principal
from cloud.errors import Conflict, NotFound, ValidationFailed
from cloud.estates.people import get_person
from cloud.estates.services import get_estate

#: An API key's default and largest sustained rate; bursts are bounded by the same number.
RATE_PER_MINUTE_DEFAULT = 600
RATE_PER_MINUTE_MAX = 6_000
API_KEY_ESTATES_MAX = 100


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """A new API key: ``key`` is its only appearance in plain text."""

    row: ApiKey
    key: str


async def create_user(
    session: AsyncSession,
    caller: Principal,
    *,
    email: str,
    password: str,
    role: Role,
    person_id: int | None = None,
    estate_ids: Collection[int] = (),
    reason: str,
) -> User:
    """Create a user bound to estates (estate roles) or to a person (owners, tenants)."""
    caller.require(Permission.USERS_MANAGE)
    if caller.scope.estate_ids is not None and role not in DELEGABLE_BY_AGENT:
        raise ValidationFailed(
            f"role: you may create {', '.join(sorted(DELEGABLE_BY_AGENT))} users, not {role.value}"
        )
    await _check_bindings(session, caller, role, person_id, estate_ids)
    email = email.strip().lower()
    if "@" not in email:
        raise ValidationFailed(f"email: expected an address such as agent@example.org, got {email!r}")
    if await session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"a user with email {email} already exists; sign in or reset that user instead")
    user = User(email=email, password_hash=hash_password(password), role=role.value, person_id=person_id)
    session.add(user)
    await session.flush()
    await session.refresh(user)
    session.add_all(
        [UserEstate(user_id=user.id, estate_id=estate_id) for estate_id in sorted(set(estate_ids))]
    )
    after = {
        "email": email,
        "role": role.value,
        "person_id": person_id,
        "estate_ids": sorted(set(estate_ids)),
    }
    await record(
        session,
        caller.actor(reason),
        "user.create",
        ("user", user.id),
        estate_id=min(estate_ids, default=None),
        before=None,
        after=after,
    )
    return user


async def _check_bindings(
    session: AsyncSession, caller: Principal, role: Role, person_id: int | None, estate_ids: Collection[int]
) -> None:
    if role in PERSON_ROLES:
        if person_id is None or estate_ids:
            raise ValidationFailed(
                f"person_id: a {role.value} user is bound to their person record (its ownerships or "
                "tenancies give the units), not to estates"
            )
        caller.require_kind(Kind.PERSON, f"person {person_id}")
        await get_person(session, caller.scope, person_id)
        await _check_person_within(session, caller, person_id)
        return
    if person_id is not None:
        raise ValidationFailed(f"person_id: a {role.value} user is not bound to a person")
    if role in ESTATE_ROLES and not estate_ids:
        raise ValidationFailed(f"estate_ids: name the estates this {role.value} works for")
    if role is Role.SUPER_ADMIN and estate_ids:
        raise ValidationFailed("estate_ids: a super_admin sees every estate; give none")
    for estate_id in estate_ids:
        await get_estate(session, caller.scope, estate_id)


async def _check_person_within(session: AsyncSession, caller: Principal, person_id: int) -> None:
    """An agent sets the new login's password, so the person must live or own only in its estates:
    otherwise the login would open another estate's wallets to the agent."""
    estates = caller.scope.estate_ids
    if estates is None:
        return
    linked = text(
        "SELECT u.estate_id FROM units u JOIN ownerships o ON o.unit_id = u.id WHERE o.person_id = :p "
        "UNION SELECT u.estate_id FROM units u JOIN tenancies t ON t.unit_id = u.id WHERE t.person_id = :p"
    )
    elsewhere = {row[0] for row in await session.execute(linked, {"p": person_id})} - estates
    if elsewhere:
        raise ValidationFailed(
            f"person_id: person {person_id} also owns or rents outside your estates; "
            "ask a platform administrator to create their login"
        )


async def create_api_key(
    session: AsyncSession,
    caller: Principal,
    *,
    name: str,
    estate_ids: Collection[int],
    permissions: Collection[Permission],
    rate_per_minute: int = RATE_PER_MINUTE_DEFAULT,
    reason: str,
) -> CreatedKey:
    """Create an API key for some of the caller's estates with some of the caller's permissions."""
    caller.require(Permission.USERS_MANAGE)
    if caller.user_id is None or caller.api_key_id is not None:
        raise ValidationFailed("API keys are created by a signed-in administrator, not by another key")
    if not name.strip() or not 0 < len(set(estate_ids)) <= API_KEY_ESTATES_MAX:
        raise ValidationFailed(f"name and 1-{API_KEY_ESTATES_MAX} estate_ids are required")
    if not 0 < rate_per_minute <= RATE_PER_MINUTE_MAX:
        raise ValidationFailed(f"rate_per_minute: expected 1 to {RATE_PER_MINUTE_MAX}, got {rate_per_minute}")
    extra = set(permissions) - caller.permissions
    if extra:
        raise ValidationFailed(f"permissions: you cannot grant what you lack: {', '.join(sorted(extra))}")
    for estate_id in estate_ids:
        await get_estate(session, caller.scope, estate_id)
    key = new_api_key()
    row = ApiKey(
        key_hash=token_hash(key),
        prefix=key[:10],
        name=name.strip(),
        created_by_user_id=caller.user_id,
        estate_ids=sorted(set(estate_ids)),
        permissions=sorted(p.value for p in set(permissions)),
        rate_per_minute=rate_per_minute,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    await _audit_key(session, caller, action="api_key.create", key=row, before=None, reason=reason)
    return CreatedKey(row, key)


async def list_api_keys(session: AsyncSession, caller: Principal) -> Sequence[ApiKey]:
    """The API keys whose estates all lie within the caller's, newest first."""
    caller.require(Permission.USERS_MANAGE)
    query = select(ApiKey).order_by(ApiKey.id.desc())
    if caller.scope.estate_ids is not None:
        query = query.where(ApiKey.estate_ids.contained_by(sorted(caller.scope.estate_ids)))
    return (await session.scalars(query)).all()


async def revoke_api_key(session: AsyncSession, caller: Principal, key_id: int, *, reason: str) -> ApiKey:
    """Revoke a key at once; revoking a revoked key keeps its first revocation time."""
    # Keys are visible only to those who manage access, and only within their estates.
    key = await session.get(ApiKey, key_id, with_for_update=True)
    estates = caller.scope.estate_ids
    managed = Permission.USERS_MANAGE in caller.permissions
    if key is None or not managed or (estates is not None and not set(key.estate_ids) <= estates):
        raise NotFound(f"API key {key_id} not found")
    if key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
        await session.flush()
        await _audit_key(
            session, caller, action="api_key.revoke", key=key, before={"revoked_at": None}, reason=reason
        )
    return key


async def _audit_key(
    session: AsyncSession,
    caller: Principal,
    *,
    action: str,
    key: ApiKey,
    before: dict[str, object] | None,
    reason: str,
) -> None:
    after = {
        "name": key.name,
        "prefix": key.prefix,
        "estate_ids": list(key.estate_ids),
        "permissions": list(key.permissions),
        "rate_per_minute": key.rate_per_minute,
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }
    await record(
        session,
        caller.actor(reason),
        action,
        ("api_key", key.id),
        estate_id=min(key.estate_ids, default=None),
        before=before,
        after=after,
    )

"""People and their relationship to units: persons, ownerships and tenancies, every change audited."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.audit.actor import Actor
from cloud.audit.services import record
from cloud.errors import Conflict, NotFound, ValidationFailed
from cloud.estates.models import Ownership, Person, Tenancy, Unit
from cloud.estates.scope import Scope
from cloud.estates.services import get_unit

#: Most people one listing returns; callers page with ``after_id``.
PEOPLE_PAGE_MAX = 200


async def add_person(
    session: AsyncSession, actor: Actor, *, full_name: str, email: str | None = None, phone: str | None = None
) -> Person:
    """Add a person (owner, tenant, family member); an email address identifies at most one person."""
    if not full_name.strip():
        raise ValidationFailed("full_name: expected the person's name, got ''")
    email = await _free_email(session, email, person_id=None)
    person = Person(full_name=full_name.strip(), email=email, phone=phone)
    session.add(person)
    await session.flush()
    after = {"full_name": person.full_name, "email": email, "phone": phone}
    await record(
        session, actor, "person.create", ("person", person.id), estate_id=None, before=None, after=after
    )
    return person


async def update_person(
    session: AsyncSession,
    scope: Scope,
    actor: Actor,
    person_id: int,
    *,
    full_name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
) -> Person:
    """Change a person's name, email or phone; ``None`` leaves a field as it is, ``""`` clears the
    email or phone. Audited with the changed fields before and after."""
    person = await get_person(session, scope, person_id)
    wanted: dict[str, str | None] = {}
    if full_name is not None:
        if not full_name.strip():
            raise ValidationFailed("full_name: expected the person's name, got ''")
        wanted["full_name"] = full_name.strip()
    if email is not None:
        wanted["email"] = await _free_email(session, email or None, person_id=person_id)
    if phone is not None:
        wanted["phone"] = phone.strip() or None
    if not wanted:
        raise ValidationFailed("give at least one of full_name, email, phone to change")
    before = {name: getattr(person, name) for name in wanted}
    for name, value in wanted.items():
        setattr(person, name, value)
    await session.flush()
    await record(
        session, actor, "person.update", ("person", person.id), estate_id=None, before=before, after=wanted
    )
    return person


async def list_people(
    session: AsyncSession,
    scope: Scope,
    *,
    estate_id: int | None = None,
    only: frozenset[int] | None = None,
    after_id: int = 0,
    limit: int = 50,
) -> Sequence[Person]:
    """People within ``scope`` (those who own or rent in its estates; everyone for an unrestricted
    scope), by id after ``after_id``; ``estate_id`` narrows to one estate, ``only`` to these ids."""
    query = select(Person).where(Person.id > after_id).order_by(Person.id).limit(min(limit, PEOPLE_PAGE_MAX))
    estates = scope.estate_ids
    if estate_id is not None:
        scope.require_estate(estate_id, f"estate {estate_id}")
        estates = frozenset({estate_id})
    if estates is not None:
        units = select(Unit.id).where(Unit.estate_id.in_(estates))
        owners = select(Ownership.person_id).where(Ownership.unit_id.in_(units))
        tenants = select(Tenancy.person_id).where(Tenancy.unit_id.in_(units))
        query = query.where(Person.id.in_(owners.union(tenants)))
    if only is not None:
        query = query.where(Person.id.in_(only))
    return (await session.scalars(query)).all()


async def get_person(session: AsyncSession, scope: Scope, person_id: int) -> Person:
    """A person within ``scope``: an estate-scoped caller sees people who own or rent in its estates."""
    person = await session.get(Person, person_id)
    if person is None or not await _person_visible(session, scope, person_id):
        raise NotFound(f"person {person_id} not found")
    return person


async def record_ownership(
    session: AsyncSession,
    scope: Scope,
    actor: Actor,
    unit_id: int,
    person_id: int,
    *,
    starts_on: date,
    ends_on: date | None = None,
) -> Ownership:
    """Record that a person owns (or co-owns) a unit from ``starts_on`` until ``ends_on`` (exclusive)."""
    unit = await get_unit(session, scope, unit_id)
    await _require_person(session, person_id)
    _check_dates(starts_on, ends_on)
    overlapping = await _overlapping(
        session, Ownership, unit_id, starts_on, ends_on, Ownership.person_id == person_id
    )
    if overlapping is not None:
        raise Conflict(
            f"person {person_id} already owns unit {unit_id} over those dates (ownership {overlapping})"
        )
    ownership = Ownership(unit_id=unit_id, person_id=person_id, starts_on=starts_on, ends_on=ends_on)
    await _add_span(
        session, actor, ownership, entity="ownership", action="ownership.create", estate_id=unit.estate_id
    )
    return ownership


async def start_tenancy(
    session: AsyncSession,
    scope: Scope,
    actor: Actor,
    unit_id: int,
    person_id: int,
    *,
    starts_on: date,
    ends_on: date | None = None,
) -> Tenancy:
    """Start a tenancy (or owner occupation); a unit has at most one tenancy on any day."""
    unit = await get_unit(session, scope, unit_id, for_update=True)
    await _require_person(session, person_id)
    _check_dates(starts_on, ends_on)
    overlapping = await _overlapping(session, Tenancy, unit_id, starts_on, ends_on)
    if overlapping is not None:
        raise Conflict(
            f"unit {unit_id} already has tenancy {overlapping} over those dates; "
            "end it before starting another"
        )
    tenancy = Tenancy(unit_id=unit_id, person_id=person_id, starts_on=starts_on, ends_on=ends_on)
    await _add_span(
        session, actor, tenancy, entity="tenancy", action="tenancy.start", estate_id=unit.estate_id
    )
    return tenancy


async def end_tenancy(
    session: AsyncSession, scope: Scope, actor: Actor, tenancy_id: int, *, ends_on: date
) -> Tenancy:
    """End a tenancy on ``ends_on`` (exclusive: the last day of the tenancy is the day before)."""
    tenancy = await session.get(Tenancy, tenancy_id, with_for_update=True)
    if tenancy is None:
        raise NotFound(f"tenancy {tenancy_id} not found")
    unit = await get_unit(session, scope, tenancy.unit_id)
    if tenancy.ends_on is not None and tenancy.ends_on <= ends_on:
        raise Conflict(f"tenancy {tenancy_id} already ends on {tenancy.ends_on.isoformat()}")
    _check_dates(tenancy.starts_on, ends_on)
    before = _span(tenancy)
    tenancy.ends_on = ends_on
    await session.flush()
    await record(
        session,
        actor,
        "tenancy.end",
        ("tenancy", tenancy.id),
        estate_id=unit.estate_id,
        before=before,
        after=_span(tenancy),
    )
    return tenancy


async def tenancies_of_unit(session: AsyncSession, scope: Scope, unit_id: int) -> Sequence[Tenancy]:
    """A unit's tenancies, oldest first."""
    await get_unit(session, scope, unit_id)
    query = select(Tenancy).where(Tenancy.unit_id == unit_id).order_by(Tenancy.starts_on)
    return (await session.scalars(query)).all()


async def tenancy_on(session: AsyncSession, scope: Scope, unit_id: int, day: date) -> Tenancy | None:
    """The tenancy in force on ``day``, if any."""
    await get_unit(session, scope, unit_id)
    query = select(Tenancy).where(
        Tenancy.unit_id == unit_id,
        Tenancy.starts_on <= day,
        or_(Tenancy.ends_on.is_(None), Tenancy.ends_on > day),
    )
    return (await session.scalars(query)).first()


async def _overlapping(
    session: AsyncSession,
    table: type[Tenancy] | type[Ownership],
    unit_id: int,
    starts_on: date,
    ends_on: date | None,
    *extra: Any,
) -> int | None:
    # Half-open ranges [start, end) overlap when each starts before the other ends.
    query = select(table.id).where(
        table.unit_id == unit_id,
        or_(table.ends_on.is_(None), table.ends_on > starts_on),
        *([table.starts_on < ends_on] if ends_on is not None else []),
        *extra,
    )
    return await session.scalar(query.limit(1))


async def _free_email(session: AsyncSession, email: str | None, *, person_id: int | None) -> str | None:
    # An email address identifies at most one person: refuse one that belongs to someone else.
    if email is None:
        return None
    email = email.strip().lower()
    if "@" not in email:
        raise ValidationFailed(f"email: expected an address such as thandi@example.org, got {email!r}")
    taken = await session.scalar(select(Person.id).where(Person.email == email))
    if taken is not None and taken != person_id:
        raise Conflict(f"email {email} already belongs to person {taken}")
    return email


async def _require_person(session: AsyncSession, person_id: int) -> None:
    if await session.get(Person, person_id) is None:
        raise NotFound(f"person {person_id} not found")


async def _person_visible(session: AsyncSession, scope: Scope, person_id: int) -> bool:
    if scope.estate_ids is None:
        return True
    linked = select(Unit.estate_id).where(Unit.estate_id.in_(scope.estate_ids))
    owns = linked.join(Ownership, Ownership.unit_id == Unit.id).where(Ownership.person_id == person_id)
    rents = linked.join(Tenancy, Tenancy.unit_id == Unit.id).where(Tenancy.person_id == person_id)
    return (await session.scalar(owns.union(rents).limit(1))) is not None


def _check_dates(starts_on: date, ends_on: date | None) -> None:
    if ends_on is not None and ends_on <= starts_on:
        raise ValidationFailed(
            f"ends_on {ends_on.isoformat()} must be after starts_on {starts_on.isoformat()}"
        )


async def _add_span(
    session: AsyncSession,
    actor: Actor,
    span: Tenancy | Ownership,
    *,
    entity: str,
    action: str,
    estate_id: int,
) -> None:
    """Insert a new ownership or tenancy (to learn its id) and audit its creation."""
    session.add(span)
    await session.flush()
    await record(
        session, actor, action, (entity, span.id), estate_id=estate_id, before=None, after=_span(span)
    )


def _span(row: Tenancy | Ownership) -> dict[str, Any]:
    ends = row.ends_on.isoformat() if row.ends_on else None
    return {
        "unit_id": row.unit_id,
        "person_id": row.person_id,
        "starts_on": row.starts_on.isoformat(),
        "ends_on": ends,
    }

"""``/api/v1/persons``, ownerships and tenancies: who owns and who rents each unit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from litestar import Controller, Request, get, patch, post
from litestar.datastructures import State
from litestar.params import JSONBody, QueryParameter
from sqlalchemy import select

from cloud.api.estates import PathId, visible_unit
from cloud.api.schemas import (
    ID_MAX,
    PersonCreate,
    PersonOut,
    PersonPage,
    PersonUpdate,
    SpanCreate,
    SpanOut,
    TenancyEnd,
)
from cloud.auth.dependencies import Caller, DbSession, audit_reason
from cloud.auth.permissions import Kind, Permission
from cloud.errors import NotFound
from cloud.estates import people
from cloud.estates.models import Ownership, Person, Tenancy
from cloud.estates.services import get_unit


class PersonController(Controller):
    """People: owners, tenants and family members."""

    path = "/api/v1/persons"
    tags = ("people",)

    @post(summary="Add a person")
    async def add_person(
        self,
        request: Request[object, object, State],
        db: DbSession,
        principal: Caller,
        data: JSONBody[PersonCreate],
    ) -> PersonOut:
        """A person record; they become visible to an estate once they own or rent a unit in it."""
        principal.require(Permission.PEOPLE_WRITE)
        person = await people.add_person(
            db,
            principal.actor(audit_reason(request)),
            full_name=data.full_name,
            email=data.email,
            phone=data.phone,
        )
        return person_out(person)

    @get(summary="List people")
    async def list_people(
        self,
        db: DbSession,
        principal: Caller,
        estate_id: Annotated[
            int | None, QueryParameter(ge=1, le=ID_MAX, description="only those who own or rent here")
        ] = None,
        after_id: Annotated[int, QueryParameter(ge=0, le=ID_MAX, description="cursor: the last id seen")] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=people.PEOPLE_PAGE_MAX)] = 50,
    ) -> PersonPage:
        """People who own or rent in your estates, by id (owners and tenants: only themselves).

        Follow ``next_after_id`` for the next page; it is null on the last page.
        """
        principal.require_kind(Kind.PERSON, "people")
        found = await people.list_people(
            db,
            principal.scope,
            estate_id=estate_id,
            only=principal.person_ids,
            after_id=after_id,
            limit=limit,
        )
        next_after = found[-1].id if len(found) == limit else None
        return PersonPage([person_out(p) for p in found], next_after)

    @get("/{person_id:int}", summary="Get a person")
    async def get_person(self, db: DbSession, principal: Caller, person_id: PathId) -> PersonOut:
        """A person who owns or rents in your estates (owners and tenants: only themselves)."""
        return person_out(await visible_person(db, principal, person_id))

    @patch("/{person_id:int}", summary="Change a person's name or contact details")
    async def update_person(
        self,
        request: Request[object, object, State],
        db: DbSession,
        principal: Caller,
        person_id: PathId,
        data: JSONBody[PersonUpdate],
    ) -> PersonOut:
        """Omitted (or null) fields stay as they are; an empty ``email`` or ``phone`` clears it.
        409 if the email belongs to someone else. Audited with the fields before and after."""
        await visible_person(db, principal, person_id)
        principal.require(Permission.PEOPLE_WRITE)
        person = await people.update_person(
            db,
            principal.scope,
            principal.actor(audit_reason(request)),
            person_id,
            full_name=data.full_name,
            email=data.email,
            phone=data.phone,
        )
        return person_out(person)


class OccupationController(Controller):
    """Ownerships and tenancies of units."""

    path = "/api/v1"
    tags = ("people",)

    @get("/units/{unit_id:int}/ownerships", summary="List a unit's ownerships")
    async def list_ownerships(self, db: DbSession, principal: Caller, unit_id: PathId) -> list[SpanOut]:
        """Who owns or owned the unit, oldest first."""
        principal.require_kind(Kind.OWNERSHIP, f"unit {unit_id}")
        await visible_unit(db, principal, unit_id)
        query = (
            select(Ownership).where(Ownership.unit_id == unit_id).order_by(Ownership.starts_on, Ownership.id)
        )
        return [span_out(o) for o in await db.scalars(query)]

    @post("/units/{unit_id:int}/ownerships", summary="Record an ownership")
    async def add_ownership(
        self,
        request: Request[object, object, State],
        db: DbSession,
        principal: Caller,
        unit_id: PathId,
        data: JSONBody[SpanCreate],
    ) -> SpanOut:
        """A person owns (or co-owns) the unit from ``starts_on``."""
        return await _create_span(
            request, db, principal, unit_id, data, kind=Kind.OWNERSHIP, create=people.record_ownership
        )

    @get("/units/{unit_id:int}/tenancies", summary="List a unit's tenancies")
    async def list_tenancies(self, db: DbSession, principal: Caller, unit_id: PathId) -> list[SpanOut]:
        """Who rents or rented the unit, oldest first."""
        principal.require_kind(Kind.TENANCY, f"unit {unit_id}")
        await visible_unit(db, principal, unit_id)
        return [span_out(t) for t in await people.tenancies_of_unit(db, principal.scope, unit_id)]

    @post("/units/{unit_id:int}/tenancies", summary="Start a tenancy")
    async def start_tenancy(
        self,
        request: Request[object, object, State],
        db: DbSession,
        principal: Caller,
        unit_id: PathId,
        data: JSONBody[SpanCreate],
    ) -> SpanOut:
        """A person rents the unit from ``starts_on``; a unit has at most one tenancy on any day."""
        return await _create_span(
            request, db, principal, unit_id, data, kind=Kind.TENANCY, create=people.start_tenancy
        )

    @get("/tenancies/{tenancy_id:int}", summary="Get a tenancy")
    async def get_tenancy(self, db: DbSession, principal: Caller, tenancy_id: PathId) -> SpanOut:
        """One tenancy."""
        return span_out(await visible_tenancy(db, principal, tenancy_id))

    @post("/tenancies/{tenancy_id:int}/end", summary="End a tenancy", status_code=200)
    async def end_tenancy(
        self,
        request: Request[object, object, State],
        db: DbSession,
        principal: Caller,
        tenancy_id: PathId,
        data: JSONBody[TenancyEnd],
    ) -> SpanOut:
        """The tenancy ends on ``ends_on`` (exclusive); close the wallet separately at move-out."""
        await visible_tenancy(db, principal, tenancy_id)
        principal.require(Permission.PEOPLE_WRITE)
        tenancy = await people.end_tenancy(
            db, principal.scope, principal.actor(audit_reason(request)), tenancy_id, ends_on=data.ends_on
        )
        return span_out(tenancy)


async def visible_person(db: DbSession, principal: Caller, person_id: int) -> Person:
    """A person the caller sees (owning or renting in their estates; occupants: themselves), else 404."""
    principal.require_kind(Kind.PERSON, f"person {person_id}")
    if not principal.allows_person(person_id):
        raise NotFound(f"person {person_id} not found")
    return await people.get_person(db, principal.scope, person_id)


async def visible_tenancy(db: DbSession, principal: Caller, tenancy_id: int) -> Tenancy:
    """A tenancy of a unit the caller sees, else 404."""
    principal.require_kind(Kind.TENANCY, f"tenancy {tenancy_id}")
    tenancy = await db.get(Tenancy, tenancy_id)
    if tenancy is None:
        raise NotFound(f"tenancy {tenancy_id} not found")
    try:
        unit = await get_unit(db, principal.scope, tenancy.unit_id)
    except NotFound:
        raise NotFound(f"tenancy {tenancy_id} not found") from None
    principal.require_unit(unit.estate_id, unit.id, f"tenancy {tenancy_id}")
    return tenancy


def person_out(person: Person) -> PersonOut:
    """The response body of a person."""
    return PersonOut(person.id, person.full_name, person.email, person.phone)


async def _create_span(
    request: Request[object, object, State],
    db: DbSession,
    principal: Caller,
    unit_id: int,
    data: SpanCreate,
    *,
    kind: Kind,
    create: Callable[..., Awaitable[Ownership | Tenancy]],
) -> SpanOut:
    """Check the caller may write ``kind`` on the visible unit, then ``create`` the span, audited."""
    principal.require_kind(kind, f"unit {unit_id}")
    await visible_unit(db, principal, unit_id)
    principal.require(Permission.PEOPLE_WRITE)
    span = await create(
        db,
        principal.scope,
        principal.actor(audit_reason(request)),
        unit_id,
        data.person_id,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
    )
    return span_out(span)


def span_out(span: Ownership | Tenancy) -> SpanOut:
    """The response body of an ownership or tenancy."""
    return SpanOut(span.id, span.unit_id, span.person_id, span.starts_on, span.ends_on)

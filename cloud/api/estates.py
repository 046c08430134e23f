"""``/api/v1/estates`` and ``/api/v1/units``: estates and their units."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, patch, post
from litestar.datastructures import State
from litestar.params import JSONBody, PathParameter

from cloud.api.schemas import (
    ID_MAX,
    EstateConfigure,
    EstateCreate,
    EstateOut,
    UnitCreate,
    UnitOut,
    UnitUpdate,
)
from cloud.auth.dependencies import Caller, DbSession, audit_reason
from cloud.auth.permissions import Kind, Permission
from cloud.estates import services
from cloud.estates.models import Estate, Unit

PathId = Annotated[int, PathParameter(ge=1, le=ID_MAX)]


class EstateController(Controller):
    """Estates: created by a super admin, configured by their managing agent or body corporate."""

    path = "/api/v1/estates"
    tags = ("estates",)

    @get(summary="List estates")
    async def list_estates(self, db: DbSession, principal: Caller) -> list[EstateOut]:
        """The estates you work for, or live in, by name."""
        return [estate_out(e) for e in await services.list_estates(db, principal.scope)]

    @post(summary="Create an estate")
    async def create_estate(
        self,
        request: Request[object, object, State],
        db: DbSession,
        principal: Caller,
        data: JSONBody[EstateCreate],
    ) -> EstateOut:
        """Super admins only; the name must be unique and the time zone an IANA name."""
        principal.require(Permission.ESTATES_CREATE)
        estate = await services.create_estate(
            db,
            principal.actor(audit_reason(request)),
            name=data.name,
            time_zone=data.time_zone,
            wallet_mode=data.wallet_mode,
            utilities=data.utilities,
            credit_policies=data.credit_policies,
            loss_threshold_percent=data.loss_threshold_percent,
            currency=data.currency,
        )
        await db.refresh(estate)
        return estate_out(estate)

    @get("/{estate_id:int}", summary="Get an estate")
    async def get_estate(self, db: DbSession, principal: Caller, estate_id: PathId) -> EstateOut:
        """One estate and its configuration."""
        return estate_out(await services.get_estate(db, principal.scope, estate_id))

    @patch("/{estate_id:int}", summary="Configure an estate")
    async def configure_estate(
        self,
        request: Request[object, object, State],
        db: DbSession,
        principal: Caller,
        estate_id: PathId,
        data: JSONBody[EstateConfigure],
    ) -> EstateOut:
        """Change credit-control policies and/or the loss threshold; the change is audited."""
        await services.get_estate(db, principal.scope, estate_id)
        principal.require(Permission.ESTATES_CONFIGURE)
        estate = await services.configure_estate(
            db,
            principal.scope,
            principal.actor(audit_reason(request)),
            estate_id,
            credit_policies=data.credit_policies,
            loss_threshold_percent=data.loss_threshold_percent,
        )
        return estate_out(estate)

    @get("/{estate_id:int}/units", summary="List an estate's units")
    async def list_units(self, db: DbSession, principal: Caller, estate_id: PathId) -> list[UnitOut]:
        """The estate's units by label (owners and tenants: only their own)."""
        principal.require_kind(Kind.UNIT, f"estate {estate_id}")
        units = await services.list_units(db, principal.scope, estate_id)
        return [unit_out(u) for u in units if principal.allows_unit(u.estate_id, u.id)]

    @post("/{estate_id:int}/units", summary="Add a unit")
    async def add_unit(
        self,
        request: Request[object, object, State],
        db: DbSession,
        principal: Caller,
        estate_id: PathId,
        data: JSONBody[UnitCreate],
    ) -> UnitOut:
        """A new unit; its label is unique within the estate."""
        await services.get_estate(db, principal.scope, estate_id)
        principal.require(Permission.UNITS_WRITE)
        unit = await services.add_unit(
            db,
            principal.scope,
            principal.actor(audit_reason(request)),
            estate_id,
            label=data.label,
            occupancy=data.occupancy,
            floor_area_m2=data.floor_area_m2,
        )
        return unit_out(unit)


class UnitController(Controller):
    """Units of estates."""

    path = "/api/v1/units"
    tags = ("estates",)

    @get("/{unit_id:int}", summary="Get a unit")
    async def get_unit(self, db: DbSession, principal: Caller, unit_id: PathId) -> UnitOut:
        """One unit."""
        return unit_out(await visible_unit(db, principal, unit_id))

    @patch("/{unit_id:int}", summary="Set a unit's occupancy")
    async def update_unit(
        self,
        request: Request[object, object, State],
        db: DbSession,
        principal: Caller,
        unit_id: PathId,
        data: JSONBody[UnitUpdate],
    ) -> UnitOut:
        """Mark a unit occupied, vacant or under maintenance."""
        await visible_unit(db, principal, unit_id)
        principal.require(Permission.UNITS_WRITE)
        unit = await services.set_occupancy(
            db, principal.scope, principal.actor(audit_reason(request)), unit_id, data.occupancy
        )
        return unit_out(unit)


async def visible_unit(db: DbSession, principal: Caller, unit_id: int) -> Unit:
    """A unit the caller sees (its estate, and for owners and tenants their own unit), else 404."""
    principal.require_kind(Kind.UNIT, f"unit {unit_id}")
    unit = await services.get_unit(db, principal.scope, unit_id)
    principal.require_unit(unit.estate_id, unit.id, f"unit {unit_id}")
    return unit


def estate_out(estate: Estate) -> EstateOut:
    """The response body of an estate."""
    return EstateOut(
        estate.id,
        estate.name,
        estate.time_zone,
        estate.currency,
        estate.wallet_mode,
        list(estate.utilities),
        estate.credit_policies,
        estate.loss_threshold_percent,
        estate.created_at,
    )


def unit_out(unit: Unit) -> UnitOut:
    """The response body of a unit."""
    return UnitOut(unit.id, unit.estate_id, unit.label, unit.occupancy, unit.floor_area_m2)

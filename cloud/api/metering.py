"""Gateways, meters and tariff versions of an estate (records only: enrolment and sync are the
gateway sync API's)."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Controller, Request, get, patch, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody
from sqlalchemy import select

from cloud.api.estates import PathId
from cloud.api.schemas import (
    GatewayCreate,
    GatewayOut,
    GatewayUpdate,
    MeterCreate,
    MeterOut,
    MeterReplacementCreate,
    MeterReplacementOut,
    TariffUpload,
    TariffVersionOut,
)
from cloud.auth.dependencies import Caller, DbSession, audit_reason
from cloud.auth.permissions import Kind, Permission
from cloud.errors import NotFound, ValidationFailed
from cloud.estates import metering
from cloud.estates.metering_models import Gateway, Meter, MeterReplacement, Tariff, TariffVersion
from cloud.estates.services import get_estate
from cloud.gateways import replacements
from shared.quantities import Utility


class GatewayController(Controller):
    """Gateway records."""

    path = "/api/v1"
    tags = ("metering",)

    @get("/estates/{estate_id:int}/gateways", summary="List an estate's gateways")
    async def list_gateways(self, db: DbSession, principal: Caller, estate_id: PathId) -> list[GatewayOut]:
        """The estate's gateways by name."""
        principal.require_kind(Kind.GATEWAY, f"estate {estate_id}")
        await get_estate(db, principal.scope, estate_id)
        query = select(Gateway).where(Gateway.estate_id == estate_id).order_by(Gateway.name)
        return [gateway_out(g) for g in await db.scalars(query)]

    @post("/estates/{estate_id:int}/gateways", summary="Register a gateway")
    async def register_gateway(
        self,
        request: Request[object, object, State],
        db: DbSession,
        principal: Caller,
        estate_id: PathId,
        data: JSONBody[GatewayCreate],
    ) -> GatewayOut:
        """A gateway record pending enrolment; names are unique within the estate."""
        principal.require_kind(Kind.GATEWAY, f"estate {estate_id}")
        await get_estate(db, principal.scope, estate_id)
        principal.require(Permission.METERING_WRITE)
        gateway = await metering.register_gateway(
            db, principal.scope, principal.actor(audit_reason(request)), estate_id, name=data.name
        )
        await db.refresh(gateway)
        return gateway_out(gateway)

    @get("/gateways/{gateway_id:int}", summary="Get a gateway")
    async def get_gateway(self, db: DbSession, principal: Caller, gateway_id: PathId) -> GatewayOut:
        """One gateway."""
        principal.require_kind(Kind.GATEWAY, f"gateway {gateway_id}")
        return gateway_out(await metering.get_gateway(db, principal.scope, gateway_id))

    @patch("/gateways/{gateway_id:int}", summary="Activate or retire a gateway")
    async def update_gateway(
        self,
        request: Request[object, object, State],
        db: DbSession,
        principal: Caller,
        gateway_id: PathId,
        data: JSONBody[GatewayUpdate],
    ) -> GatewayOut:
        """Set the gateway's status; the change is audited."""
        principal.require_kind(Kind.GATEWAY, f"gateway {gateway_id}")
        await metering.get_gateway(db, principal.scope, gateway_id)
        principal.require(Permission.METERING_WRITE)
        gateway = await metering.set_gateway_status(
            db, principal.scope, principal.actor(audit_reason(request)), gateway_id, data.status
        )
        return gateway_out(gateway)


class MeterController(Controller):
    """Meter records."""

    path = "/api/v1"
    tags = ("metering",)

    @get("/estates/{estate_id:int}/meters", summary="List an estate's meters")
    async def list_meters(self, db: DbSession, principal: Caller, estate_id: PathId) -> list[MeterOut]:
        """The estate's meters by id (owners and tenants: their own units' meters)."""
        principal.require_kind(Kind.METER, f"estate {estate_id}")
        meters = await metering.list_meters(db, principal.scope, estate_id)
        return [meter_out(m) for m in meters if _meter_visible(principal, m)]

    @post("/estates/{estate_id:int}/meters", summary="Add a meter")
    async def add_meter(
        self,
        request: Request[object, object, State],
        db: DbSession,
        principal: Caller,
        estate_id: PathId,
        data: JSONBody[MeterCreate],
    ) -> MeterOut:
        """A meter; (firmware profile, serial) is unique across the platform."""
        principal.require_kind(Kind.METER, f"estate {estate_id}")
        await get_estate(db, principal.scope, estate_id)
        principal.require(Permission.METERING_WRITE)
        meter = await metering.add_meter(
            db,
            principal.scope,
            principal.actor(audit_reason(request)),
            estate_id,
            utility=data.utility,
            serial=data.serial,
            firmware_profile_id=data.firmware_profile_id,
            role=data.role,
            unit_id=data.unit_id,
            gateway_id=data.gateway_id,
        )
        return meter_out(meter)

    @get("/meters/{meter_id:int}", summary="Get a meter")
    async def get_meter(self, db: DbSession, principal: Caller, meter_id: PathId) -> MeterOut:
        """One meter."""
        return meter_out(await visible_meter(db, principal, meter_id))

    @post("/meters/{meter_id:int}/replacement", summary="Replace a meter (a new serial at its place)")
    async def replace(
        self,
        request: Request[object, object, State],
        db: DbSession,
        principal: Caller,
        meter_id: PathId,
        data: JSONBody[MeterReplacementCreate],
    ) -> MeterReplacementOut:
        """Records a new meter fitted at this metering point: the meter's serial becomes
        ``new_serial``, and the gateway's next config version carries it with the two readings, so
        the gateway bills the old meter up to its final reading and the new one from its first.
        422 for a blank or unchanged serial, a negative reading or a blank reason; 409 when another
        meter of the same firmware profile has the serial. Audited (``meter.replace``) with
        ``reason``."""
        meter = await visible_meter(db, principal, meter_id)
        principal.require(Permission.METERS_REPLACE)
        reason = data.reason.strip()
        if not reason:
            raise ValidationFailed("reason: say why the meter was replaced; it goes to the audit trail")
        replaced = await replacements.replace_meter(
            db,
            principal.actor(reason),
            meter,
            new_serial=data.new_serial,
            old_meter_final_reading=data.old_meter_final_reading,
            new_meter_first_reading=data.new_meter_first_reading,
            replaced_at=data.replaced_at,
            now=datetime.now(UTC),
        )
        return replacement_out(replaced.replacement, replaced.config_version)

    @get("/meters/{meter_id:int}/replacements", summary="List a meter's replacements")
    async def list_replacements(
        self, db: DbSession, principal: Caller, meter_id: PathId
    ) -> list[MeterReplacementOut]:
        """Every replacement of the meter, oldest first."""
        await visible_meter(db, principal, meter_id)
        return [replacement_out(r) for r in await replacements.meter_replacements(db, meter_id)]


class TariffController(Controller):
    """Tariff versions: TOML text, effective-dated, never edited (a correction is a later version)."""

    path = "/api/v1/estates/{estate_id:int}/tariffs"
    tags = ("metering",)

    @post(summary="Upload a tariff version")
    async def upload(
        self,
        request: Request[object, object, State],
        db: DbSession,
        principal: Caller,
        estate_id: PathId,
        data: JSONBody[TariffUpload],
    ) -> TariffVersionOut:
        """Parsed and checked first; uploading the same text again returns the stored version."""
        principal.require_kind(Kind.TARIFF, f"estate {estate_id}")
        await get_estate(db, principal.scope, estate_id)
        principal.require(Permission.TARIFFS_WRITE)
        version = await metering.add_tariff_version(
            db, principal.scope, principal.actor(audit_reason(request)), estate_id, data.toml
        )
        await db.refresh(version)
        tariff = await db.get(Tariff, version.tariff_id)
        assert tariff is not None, "a version's tariff exists (foreign key)"
        return version_out(version, tariff.utility)

    @get("/{utility:str}", summary="List a utility's tariff versions")
    async def list_versions(
        self, db: DbSession, principal: Caller, estate_id: PathId, utility: FromPath[Utility]
    ) -> list[TariffVersionOut]:
        """Every version of the estate's tariff for ``utility``, oldest first."""
        principal.require_kind(Kind.TARIFF, f"estate {estate_id}")
        await get_estate(db, principal.scope, estate_id)
        versions = await metering.tariff_versions(db, principal.scope, estate_id, utility)
        return [version_out(v, utility.value) for v in versions]


async def visible_meter(db: DbSession, principal: Caller, meter_id: int) -> Meter:
    """The meter if the caller sees it, else :class:`NotFound` (whether or not it exists)."""
    principal.require_kind(Kind.METER, f"meter {meter_id}")
    meter = await db.get(Meter, meter_id)
    if (
        meter is None
        or not principal.scope.allows_estate(meter.estate_id)
        or not _meter_visible(principal, meter)
    ):
        raise NotFound(f"meter {meter_id} not found")
    return meter


def _meter_visible(principal: Caller, meter: Meter) -> bool:
    # Bulk and common-property meters belong to the estate as a whole: estate staff see them.
    if meter.unit_id is None:
        return principal.unit_ids is None
    return principal.allows_unit(meter.estate_id, meter.unit_id)


def gateway_out(gateway: Gateway) -> GatewayOut:
    """The response body of a gateway."""
    return GatewayOut(gateway.id, gateway.estate_id, gateway.name, gateway.status, gateway.created_at)


def meter_out(meter: Meter) -> MeterOut:
    """The response body of a meter."""
    return MeterOut(
        meter.id,
        meter.estate_id,
        meter.unit_id,
        meter.gateway_id,
        meter.utility,
        meter.serial,
        meter.firmware_profile_id,
        meter.role,
    )


def replacement_out(replacement: MeterReplacement, config_version: int | None = None) -> MeterReplacementOut:
    """The response body of a meter replacement."""
    return MeterReplacementOut(
        id=replacement.id,
        meter_id=replacement.meter_id,
        old_serial=replacement.old_serial,
        new_serial=replacement.new_serial,
        old_meter_final_reading=replacement.old_meter_final_reading,
        new_meter_first_reading=replacement.new_meter_first_reading,
        replaced_at=replacement.replaced_at,
        reason=replacement.reason,
        recorded_by_user_id=replacement.recorded_by_user_id,
        recorded_at=replacement.recorded_at,
        config_version=config_version,
    )


def version_out(version: TariffVersion, utility: str) -> TariffVersionOut:
    """The response body of a tariff version."""
    return TariffVersionOut(
        version.id, utility, version.name, version.effective_from, version.toml_text, version.created_at
    )

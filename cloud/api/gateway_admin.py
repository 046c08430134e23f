"""Gateways for the people who run them: one-time enrolment codes, alarms and re-rating findings.

The same services as ``quantify-cloud gateway enrolment-code | alarms | discrepancies``, scoped to
the caller's estates. Alarms are for everyone who works on gateways (installers too); re-rating
findings are money, so for those who keep the books.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import FromQuery, JSONBody, QueryParameter

from cloud.api.estates import PathId
from cloud.api.schemas import ID_MAX
from cloud.auth.dependencies import Caller, DbSession, audit_reason
from cloud.auth.permissions import Kind, Permission
from cloud.estates.metering import get_gateway
from cloud.gateways import reports
from cloud.gateways.enrolment import MAX_CODE_TTL, create_enrolment_code
from cloud.gateways.models import ChargeDiscrepancy, GatewayAlarm

#: As the command line: a day unless asked otherwise.
DEFAULT_TTL_MIN = 24 * 60
Origin = Literal["gateway", "cloud"]
AfterId = Annotated[int, QueryParameter(ge=0, le=ID_MAX, description="cursor: the last id seen")]
Limit = Annotated[int, QueryParameter(ge=1, le=reports.PAGE_MAX)]


class EnrolmentCodeCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """How long the code stays valid, in minutes (one minute to seven days)."""

    ttl_min: Annotated[int, msgspec.Meta(ge=1, le=MAX_CODE_TTL // timedelta(minutes=1))] = DEFAULT_TTL_MIN


class EnrolmentCodeOut(msgspec.Struct):
    """A one-time code for the installer to enter on the gateway: shown this once, never again."""

    gateway_id: int
    code: str
    expires_at: datetime


class AlarmOut(msgspec.Struct):
    """An alarm the gateway journalled (``origin`` gateway, with its ``seq``) or the cloud raised."""

    id: int
    gateway_id: int
    seq: int | None
    origin: str
    meter_id: str | None
    kind: str
    detail: str
    raised_at: datetime


class DiscrepancyOut(msgspec.Struct):
    """A charge the cloud re-rated to other cents (``rerated_cents`` null: it could not re-rate)."""

    gateway_id: int
    seq: int
    meter_id: str
    tariff_version: str
    charged_cents: int
    rerated_cents: int | None
    detail: str
    found_at: datetime


class GatewayAdminController(Controller):
    """Enrolment codes, alarms and re-rating findings of gateways and estates."""

    path = "/api/v1"
    tags = ("metering",)

    @post("/gateways/{gateway_id:int}/enrolment-code", summary="Issue a gateway enrolment code")
    async def enrolment_code(
        self,
        request: Request[object, object, State],
        db: DbSession,
        principal: Caller,
        gateway_id: PathId,
        data: JSONBody[EnrolmentCodeCreate],
    ) -> EnrolmentCodeOut:
        """A one-time code for ``quantify-provision gateway enrol``: shown only in this answer,
        stored as its hash, valid once until it expires. Enrolling again with a new code replaces
        (revokes) the gateway's old key. 422 for a retired gateway. Audited."""
        principal.require_kind(Kind.GATEWAY, f"gateway {gateway_id}")
        await get_gateway(db, principal.scope, gateway_id)
        principal.require(Permission.METERING_WRITE)
        issued = await create_enrolment_code(
            db,
            principal.scope,
            principal.actor(audit_reason(request)),
            gateway_id,
            timedelta(minutes=data.ttl_min),
            now=datetime.now(UTC),
        )
        return EnrolmentCodeOut(issued.gateway_id, issued.code, issued.expires_at)

    @get("/gateways/{gateway_id:int}/alarms", summary="List a gateway's alarms")
    async def gateway_alarms(
        self,
        db: DbSession,
        principal: Caller,
        gateway_id: PathId,
        *,
        origin: FromQuery[Origin | None] = None,
        after_id: AfterId = 0,
        limit: Limit = 100,
    ) -> list[AlarmOut]:
        """The gateway's alarms, oldest first; page with ``after_id`` (the last id seen)."""
        principal.require_kind(Kind.GATEWAY, f"gateway {gateway_id}")
        found = await reports.list_alarms(
            db, principal.scope, gateway_id, origin=origin, after_id=after_id, limit=limit
        )
        return [alarm_out(a) for a in found]

    @get("/estates/{estate_id:int}/alarms", summary="List an estate's gateway alarms")
    async def estate_alarms(
        self,
        db: DbSession,
        principal: Caller,
        estate_id: PathId,
        *,
        origin: FromQuery[Origin | None] = None,
        after_id: AfterId = 0,
        limit: Limit = 100,
    ) -> list[AlarmOut]:
        """The alarms of all the estate's gateways, oldest first; page with ``after_id``."""
        principal.require_kind(Kind.GATEWAY, f"estate {estate_id}")
        found = await reports.list_estate_alarms(
            db, principal.scope, estate_id, origin=origin, after_id=after_id, limit=limit
        )
        return [alarm_out(a) for a in found]

    @get("/gateways/{gateway_id:int}/discrepancies", summary="List a gateway's re-rating findings")
    async def gateway_discrepancies(
        self,
        db: DbSession,
        principal: Caller,
        gateway_id: PathId,
        *,
        after_seq: Annotated[
            int, QueryParameter(ge=0, le=ID_MAX, description="cursor: the last seq seen")
        ] = 0,
        limit: Limit = 100,
    ) -> list[DiscrepancyOut]:
        """Charges the cloud re-rated to different cents (or could not re-rate), by journal seq."""
        principal.require_kind(Kind.GATEWAY, f"gateway {gateway_id}")
        principal.require_kind(Kind.LEDGER, f"gateway {gateway_id}")
        found = await reports.list_discrepancies(
            db, principal.scope, gateway_id, after_seq=after_seq, limit=limit
        )
        return [discrepancy_out(d) for d in found]

    @get("/estates/{estate_id:int}/discrepancies", summary="List an estate's re-rating findings")
    async def estate_discrepancies(
        self,
        db: DbSession,
        principal: Caller,
        estate_id: PathId,
        *,
        after_gateway_id: Annotated[
            int, QueryParameter(ge=0, le=ID_MAX, description="cursor: gateway_id of the last finding seen")
        ] = 0,
        after_seq: Annotated[
            int, QueryParameter(ge=0, le=ID_MAX, description="cursor: seq of the last finding seen")
        ] = 0,
        limit: Limit = 100,
    ) -> list[DiscrepancyOut]:
        """Re-rating findings of all the estate's gateways, by (gateway_id, seq)."""
        principal.require_kind(Kind.LEDGER, f"estate {estate_id}")
        found = await reports.list_estate_discrepancies(
            db, principal.scope, estate_id, after=(after_gateway_id, after_seq), limit=limit
        )
        return [discrepancy_out(d) for d in found]


def alarm_out(alarm: GatewayAlarm) -> AlarmOut:
    """The response body of an alarm."""
    return AlarmOut(
        alarm.id,
        alarm.gateway_id,
        alarm.seq,
        alarm.origin,
        alarm.meter_id,
        alarm.kind,
        alarm.detail,
        alarm.raised_at,
    )


def discrepancy_out(found: ChargeDiscrepancy) -> DiscrepancyOut:
    """The response body of a re-rating finding."""
    return DiscrepancyOut(
        found.gateway_id,
        found.seq,
        found.meter_id,
        found.tariff_version,
        found.charged_cents,
        found.rerated_cents,
        found.detail,
        found.found_at,
    )

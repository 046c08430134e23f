"""D0010 flows over the API: upload a file, list imports with their reports, link an MPAN.

The upload takes the file as the raw request body (``Content-Type: application/octet-stream`` or
``text/plain``) and answers with the same JSON report ``quantify-cloud d0010 import --json`` prints.
Imports are visible to super admins, and to an estate's people once one of the file's MPANs is
linked to their estate; tenants, owners and installers never see supply-side flows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromQuery, JSONBody, QueryParameter

from cloud.api.estates import PathId
from cloud.auth.dependencies import Caller, DbSession, audit_reason
from cloud.auth.permissions import Kind, Permission
from cloud.d0010 import ImportStatus
from cloud.d0010.links import link_mpan
from cloud.d0010.service import ImportDetail, ImportSummary, get_import, import_file, list_imports
from cloud.estates.services import get_estate

#: Largest D0010 file accepted over HTTP; larger files go through ``quantify-cloud d0010 import``.
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
FileName = Annotated[
    str, QueryParameter(min_length=1, max_length=200, description="the file's name, for the report")
]


class MpanLink(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Link an MPAN core to the estate's bulk supply (optionally to its bulk meter)."""

    mpan_core: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{13}$")]
    bulk_meter_id: int | None = None


class MpanLinkOut(msgspec.Struct, frozen=True):
    mpan_core: str
    estate_id: int
    bulk_meter_id: int | None


class D0010Controller(Controller):
    """Supply-side meter-reading flows."""

    path = "/api/v1"
    tags = ("d0010",)

    @post("/d0010/imports", summary="Import a D0010 file", request_max_body_size=MAX_UPLOAD_BYTES)
    async def upload(
        self,
        request: Request[object, object, State],
        principal: Caller,
        file_name: FileName = "upload.D0010",
        strict: FromQuery[bool] = False,
        dry_run: FromQuery[bool] = False,
    ) -> Response[bytes]:
        """Validates and stores the file in one transaction: 201 when stored (imported or partial),
        200 for a duplicate or a dry run, 422 when the file is rejected; the body is the report."""
        principal.require_kind(Kind.D0010, "D0010 imports")
        principal.require(Permission.D0010_IMPORT)
        body = await request.body()
        report = await import_file(
            request.app.state.engine,
            body.splitlines(keepends=True),
            file_name=file_name,
            now=datetime.now(UTC),
            strict=strict,
            dry_run=dry_run,
            actor=principal.actor(audit_reason(request)),
        )
        if report.status is ImportStatus.REJECTED:
            status = 422
        else:
            status = 201 if report.storage is not None and report.storage.import_id is not None else 200
        return Response(report.to_json(), status_code=status, media_type="application/json")

    @get("/d0010/imports", summary="List D0010 imports")
    async def list_all(
        self, db: DbSession, principal: Caller, before_id: FromQuery[int | None] = None
    ) -> list[ImportSummary]:
        """Newest first, 100 a page; pass the last id seen as ``before_id`` for the next page."""
        principal.require_kind(Kind.D0010, "D0010 imports")
        return await list_imports(db, principal.scope, before_id=before_id)

    @get("/d0010/imports/{import_id:int}", summary="Get a D0010 import and its report")
    async def get_one(self, db: DbSession, principal: Caller, import_id: PathId) -> ImportDetail:
        """The import's summary and its full report (errors and warnings line by line)."""
        principal.require_kind(Kind.D0010, f"D0010 import {import_id}")
        return await get_import(db, principal.scope, import_id)

    @post("/estates/{estate_id:int}/d0010/mpans", summary="Link an MPAN to the estate's bulk supply")
    async def link(
        self,
        request: Request[object, object, State],
        db: DbSession,
        principal: Caller,
        estate_id: PathId,
        data: JSONBody[MpanLink],
    ) -> MpanLinkOut:
        """Its readings then feed the estate's bulk-versus-sub-meter reconciliation."""
        principal.require_kind(Kind.D0010, f"estate {estate_id}")
        await get_estate(db, principal.scope, estate_id)
        principal.require(Permission.D0010_IMPORT)
        await link_mpan(
            db, principal.scope, principal.actor(audit_reason(request)), data.mpan_core, estate_id,
            bulk_meter_id=data.bulk_meter_id,
        )  # fmt: skip
        return MpanLinkOut(mpan_core=data.mpan_core, estate_id=estate_id, bulk_meter_id=data.bulk_meter_id)

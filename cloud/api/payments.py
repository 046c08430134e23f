"""Money in: manual top-ups (idempotent by ``Idempotency-Key``) and EFTs expected, then received."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.params import FromQuery, HeaderParameter, JSONBody

from cloud.api.estates import PathId
from cloud.api.money_schemas import EftExpect, EftOut, EftReceived, MoneyInOut, TopUp, eft_out, money_in_out
from cloud.auth.dependencies import Caller, DbSession
from cloud.auth.permissions import Kind, Permission
from cloud.payments import services
from cloud.payments.models import EftStatus
from cloud.wallets.services import get_pocket

IdempotencyKey = Annotated[
    str,
    HeaderParameter(
        name="Idempotency-Key",
        min_length=1,
        max_length=100,
        description="created by the client once per top-up and resent unchanged on retry",
    ),
]


class PaymentController(Controller):
    """Top-ups and EFTs, posted to the ledger; each writes an audit record with the balances."""

    path = "/api/v1"
    tags = ("payments",)

    @post("/pockets/{pocket_id:int}/top-ups", summary="Top up a pocket (manual)")
    async def top_up(
        self,
        db: DbSession,
        principal: Caller,
        pocket_id: PathId,
        data: JSONBody[TopUp],
        idempotency_key: IdempotencyKey,
    ) -> Response[MoneyInOut]:
        """Credits money received outside the system: 201 when posted, 200 for a repeat of the same
        key (same amount), 409 when the key was used for a different top-up."""
        await get_pocket(db, principal.scope, pocket_id)
        principal.require(Permission.MONEY_WRITE)
        result = await services.manual_top_up(
            db,
            principal.scope,
            principal.actor(data.reason),
            pocket_id,
            amount_cents=data.amount_cents,
            idempotency_key=f"{pocket_id}:{idempotency_key.strip()}",
        )
        return Response(money_in_out(result), status_code=201 if result.created else 200)

    @post("/pockets/{pocket_id:int}/efts", summary="Expect an EFT")
    async def expect_eft(
        self,
        db: DbSession,
        principal: Caller,
        pocket_id: PathId,
        data: JSONBody[EftExpect],
    ) -> EftOut:
        """Records a transfer on its way; the same reference, pocket and amount again returns it."""
        await get_pocket(db, principal.scope, pocket_id)
        principal.require(Permission.MONEY_WRITE)
        eft = await services.expect_eft(
            db,
            principal.scope,
            principal.actor(data.reason),
            pocket_id,
            reference=data.reference,
            amount_cents=data.amount_cents,
        )
        await db.refresh(eft)
        return eft_out(eft)

    @get("/estates/{estate_id:int}/efts", summary="List an estate's EFTs")
    async def list_efts(
        self, db: DbSession, principal: Caller, estate_id: PathId, status: FromQuery[EftStatus | None] = None
    ) -> list[EftOut]:
        """Newest first, optionally only those still expected or already received."""
        principal.require_kind(Kind.EFT, f"estate {estate_id}")
        return [eft_out(e) for e in await services.list_efts(db, principal.scope, estate_id, status=status)]

    @get("/efts/{eft_id:int}", summary="Get an EFT")
    async def get_eft(self, db: DbSession, principal: Caller, eft_id: PathId) -> EftOut:
        """One EFT."""
        principal.require_kind(Kind.EFT, f"EFT {eft_id}")
        return eft_out(await services.get_eft(db, principal.scope, eft_id))

    @post("/efts/{eft_id:int}/received", summary="Mark an EFT received", status_code=200)
    async def mark_received(
        self, db: DbSession, principal: Caller, eft_id: PathId, data: JSONBody[EftReceived]
    ) -> EftOut:
        """Posts the EFT into its pocket (bank → pocket); marking it again changes nothing."""
        principal.require_kind(Kind.EFT, f"EFT {eft_id}")
        await services.get_eft(db, principal.scope, eft_id)
        principal.require(Permission.MONEY_WRITE)
        await services.mark_eft_received(db, principal.scope, principal.actor(data.reason), eft_id)
        eft = await services.get_eft(db, principal.scope, eft_id)
        await db.refresh(eft)
        return eft_out(eft)

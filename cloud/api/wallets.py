"""``/api/v1/wallets`` and ``/api/v1/pockets``: balances and statements (the tenant's view of money)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import FromQuery, JSONBody, QueryParameter

from cloud.api.balances import session_own_wallets, session_wallet_balances, wallet_balances, wallets_balances
from cloud.api.estates import PathId, visible_unit
from cloud.api.money_schemas import (
    PocketOut,
    TransactionPage,
    WalletOpen,
    WalletOut,
    pocket_out,
    transaction_out,
    wallet_out,
)
from cloud.api.schemas import ID_MAX
from cloud.api.statements import PAGE_MAX, account_postings
from cloud.auth.dependencies import SESSION_COOKIE, Caller, DbSession, audit_reason, provide_principal
from cloud.auth.permissions import Permission
from cloud.database.session import transaction
from cloud.errors import ValidationFailed
from cloud.ledger.domain import PostingKind
from cloud.wallets import services


class WalletController(Controller):
    """Wallets and their pockets' balances."""

    path = "/api/v1"
    tags = ("wallets",)

    @post("/units/{unit_id:int}/wallets", summary="Open a unit's wallet")
    async def open_wallet(
        self,
        request: Request[object, object, State],
        db: DbSession,
        principal: Caller,
        unit_id: PathId,
        data: JSONBody[WalletOpen],
    ) -> WalletOut:
        """Opens the unit's wallet with pockets per the estate's wallet mode; one open wallet per unit."""
        await visible_unit(db, principal, unit_id)
        principal.require(Permission.WALLETS_WRITE)
        view = await services.open_wallet(
            db,
            principal.scope,
            principal.actor(audit_reason(request)),
            unit_id,
            holder_person_id=data.holder_person_id,
            tenancy_id=data.tenancy_id,
        )
        return wallet_out(view)

    @get("/me/wallets", summary="My wallets and balances")
    async def my_wallets(self, request: Request[object, object, State]) -> list[WalletOut]:
        """The wallets you hold (tenants) or whose units you own (owners), with each pocket's balance.

        Estate staff hold no wallets and get an empty list; they read wallets by id.
        """
        token = _session_token(request)
        if token:
            async with request.app.state.read_pool.connection() as connection:
                views = await session_own_wallets(
                    connection, token, today=_today(), source_address=_source(request)
                )
            return [wallet_out(view) for view in views]
        async with transaction(request.app.state.read_engine) as db:
            principal = await provide_principal(request, db)
            views = await wallets_balances(db, principal.scope, principal.scope.wallet_ids or ())
            return [wallet_out(view) for view in views]

    @get("/wallets/{wallet_id:int}", summary="Get a wallet and its balances")
    async def get_wallet(self, request: Request[object, object, State], wallet_id: PathId) -> WalletOut:
        """The wallet with every pocket's balance in cents: what the tenant's app shows."""
        token = _session_token(request)
        if token:
            async with request.app.state.read_pool.connection() as connection:
                view = await session_wallet_balances(
                    connection, token, wallet_id, today=_today(), source_address=_source(request)
                )
            return wallet_out(view)
        async with transaction(request.app.state.read_engine) as db:
            principal = await provide_principal(request, db)
            return wallet_out(await wallet_balances(db, principal.scope, wallet_id))

    @post("/wallets/{wallet_id:int}/close", summary="Close a wallet", status_code=200)
    async def close_wallet(
        self,
        request: Request[object, object, State],
        db: DbSession,
        principal: Caller,
        wallet_id: PathId,
    ) -> WalletOut:
        """Closes the wallet at move-out; its pockets keep their balances for refund or transfer."""
        await services.get_wallet(db, principal.scope, wallet_id)
        principal.require(Permission.WALLETS_WRITE)
        view = await services.close_wallet(
            db, principal.scope, principal.actor(audit_reason(request)), wallet_id
        )
        return wallet_out(view)

    @get("/pockets/{pocket_id:int}", summary="Get a pocket's balance")
    async def get_pocket(self, db: DbSession, principal: Caller, pocket_id: PathId) -> PocketOut:
        """One pocket and its balance in cents."""
        return pocket_out(await services.get_pocket(db, principal.scope, pocket_id))

    @get("/pockets/{pocket_id:int}/transactions", summary="List a pocket's transactions")
    async def transactions(
        self,
        db: DbSession,
        principal: Caller,
        pocket_id: PathId,
        *,
        kind: FromQuery[PostingKind | None] = None,
        since: Annotated[
            datetime | None, QueryParameter(description="effective at or after (ISO 8601, with zone)")
        ] = None,
        until: Annotated[
            datetime | None, QueryParameter(description="effective before (ISO 8601, with zone)")
        ] = None,
        after_seq: Annotated[
            int, QueryParameter(ge=0, le=ID_MAX, description="cursor: the last seq seen")
        ] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=PAGE_MAX)] = 50,
    ) -> TransactionPage:
        """Postings that moved the pocket, oldest first: money in positive, money out negative.

        Follow ``next_after_seq`` for the next page; it is null on the last page.
        """
        pocket = await services.get_pocket(db, principal.scope, pocket_id)
        for name, moment in (("since", since), ("until", until)):
            if moment is not None and moment.utcoffset() is None:
                raise ValidationFailed(f"{name}: give a time zone, e.g. 2026-11-01T00:00:00+02:00")
        postings = await account_postings(
            db, pocket.account_id, after_seq=after_seq, limit=limit, kind=kind, since=since, until=until
        )
        items = [transaction_out(p, pocket.account_id) for p in postings]
        next_after = postings[-1].seq if len(postings) == limit else None
        return TransactionPage(items=items, next_after_seq=next_after)


def _session_token(request: Request[object, object, State]) -> str | None:
    """The session cookie of a browser request, for the balance reads' one-statement path.

    These are the API's busiest reads: a browser session is checked, scoped and answered in one
    statement on the read pool (``cloud.api.balances``). API keys (rate-limited, rarer) and
    requests without a cookie take the ordinary dependency path, which refuses or authenticates
    them exactly as every other endpoint does.
    """
    if request.headers.get("authorization"):
        return None
    return request.cookies.get(SESSION_COOKIE) or None


def _today() -> date:
    return datetime.now(UTC).date()


def _source(request: Request[object, object, State]) -> str | None:
    return request.client.host if request.client else None

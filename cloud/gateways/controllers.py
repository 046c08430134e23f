"""The gateway API: enrolment, journal batches, config and the push long poll, as a Litestar Router.

Mount with ``Litestar(route_handlers=[..., gateway_router()], lifespan=[..., gateway_push_lifespan])``:
the handlers take the engine from ``app.state.engine`` and the push wake-ups from
``app.state.gateway_push_hub`` (started by :func:`gateway_push_lifespan`). Refused signed requests
answer 401 with a ``GatewayRefusal``; the router maps this context's errors itself.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

import msgspec
from litestar import Litestar, Request, Response, Router, get, post
from litestar.datastructures import State
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.database.session import transaction
from cloud.errors import ApplicationError, Conflict, NotFound, ValidationFailed
from cloud.gateways.config import current_config, gateway_context
from cloud.gateways.enrolment import enrol
from cloud.gateways.errors import GatewayRefused
from cloud.gateways.intake import ingest_batch
from cloud.gateways.push import messages_after
from cloud.gateways.signatures import SignedRequest, authenticate
from cloud.gateways.wakeup import PushHub
from shared.sync import MAX_BATCH_BYTES, SyncError, decode_batch, encode_message
from shared.sync.gateway_api import (
    CONFIG_PATH,
    ENROL_PATH,
    JOURNAL_PATH,
    PUSH_LONG_POLL_S,
    PUSH_PATH,
    EnrolRequest,
    PushBatch,
)

JSON = "application/json"
#: An enrolment request is a code and a key: a few hundred bytes.
MAX_ENROL_BYTES = 4096
_ENROL_DECODER = msgspec.json.Decoder(EnrolRequest)


@contextlib.asynccontextmanager
async def gateway_push_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Start the push wake-up listener beside the engine (add after the engine's lifespan)."""
    engine: AsyncEngine = app.state.engine
    hub = PushHub(engine.url.set(drivername="postgresql").render_as_string(hide_password=False))
    await hub.start()
    app.state.gateway_push_hub = hub
    try:
        yield
    finally:
        await hub.stop()


def gateway_router(*, long_poll_s: float = PUSH_LONG_POLL_S) -> Router:
    """The gateway API's routes; ``long_poll_s`` bounds how long a push poll is held open."""

    @get(PUSH_PATH)
    async def push(
        request: Request[None, None, State], after: Annotated[int, QueryParameter(ge=0)] = 0
    ) -> Response[bytes]:
        """Messages after cursor ``after``, at once if any are waiting, else when one arrives."""
        engine, hub = request.app.state.engine, request.app.state.gateway_push_hub
        async with transaction(engine) as session:
            gateway_id = await authenticate(session, await _signed(request), now=_now())
            # Noticing a config change here queues its notice, so the poll below answers with it.
            await current_config(session, await gateway_context(session, gateway_id))
        batch = await _poll(engine, hub, gateway_id, after, long_poll_s)
        return Response(msgspec.json.encode(batch), media_type=JSON)

    return Router(
        path="/",
        route_handlers=[enrol_gateway, receive_journal, get_config, push],
        exception_handlers={ApplicationError: _application_error, SyncError: _sync_error},
    )


@post(ENROL_PATH, status_code=200, request_max_body_size=MAX_ENROL_BYTES)
async def enrol_gateway(request: Request[None, None, State]) -> Response[bytes]:
    """Trade a one-time code and a new public key for the gateway's identity and first config."""
    try:
        enrolment = _ENROL_DECODER.decode(await request.body())
    except msgspec.DecodeError as error:  # ValidationError is a DecodeError
        raise ValidationFailed(f"enrolment request: {error}") from None
    source = request.client.host if request.client else None
    async with transaction(request.app.state.engine) as session:
        response = await enrol(session, enrolment, source=source, now=_now())
    return Response(msgspec.json.encode(response), media_type=JSON)


@post(JOURNAL_PATH, status_code=200, request_max_body_size=MAX_BATCH_BYTES)
async def receive_journal(request: Request[None, None, State]) -> Response[bytes]:
    """Store a signed journal batch (or refuse it) and answer with the ack, balances and version."""
    signed = await _signed(request)
    async with transaction(request.app.state.engine) as session:
        gateway_id = await authenticate(session, signed, now=_now())
        ack = await ingest_batch(
            session, await gateway_context(session, gateway_id), decode_batch(signed.body)
        )
    return Response(encode_message(ack), media_type=JSON)


@get(CONFIG_PATH)
async def get_config(request: Request[None, None, State]) -> Response[bytes]:
    """The gateway's current config document."""
    signed = await _signed(request)
    async with transaction(request.app.state.engine) as session:
        gateway_id = await authenticate(session, signed, now=_now())
        document = await current_config(session, await gateway_context(session, gateway_id))
    return Response(msgspec.json.encode(document), media_type=JSON)


async def _poll(
    engine: AsyncEngine, hub: PushHub, gateway_id: int, after: int, long_poll_s: float
) -> PushBatch:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + long_poll_s
    async with hub.waiter(gateway_id) as woken:
        while True:
            woken.clear()  # before reading: a commit after the read sets it again
            async with transaction(engine) as session:
                batch = await messages_after(session, gateway_id, after)
            remaining = deadline - loop.time()
            if batch.messages or remaining <= 0:
                return batch
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), timeout=remaining)


async def _signed(request: Request[None, None, State]) -> SignedRequest:
    scope = request.scope
    path = bytes(scope.get("raw_path") or scope["path"].encode("utf-8")).decode("ascii", "replace")
    query = bytes(scope.get("query_string", b"")).decode("ascii", "replace")
    return SignedRequest(
        headers=request.headers,
        method=request.method.upper(),
        path=f"{path}?{query}" if query else path,
        body=await request.body(),
    )


def _now() -> datetime:
    return datetime.now(UTC)


_STATUS = ((GatewayRefused, 401), (NotFound, 404), (Conflict, 409), (ValidationFailed, 422))


def _application_error(_: Request[None, None, State], error: ApplicationError) -> Response[bytes]:
    if isinstance(error, GatewayRefused):
        return Response(msgspec.json.encode(error.refusal()), status_code=401, media_type=JSON)
    status = next((code for kind, code in _STATUS if isinstance(error, kind)), 500)
    return Response(msgspec.json.encode({"detail": str(error)}), status_code=status, media_type=JSON)


def _sync_error(_: Request[None, None, State], error: SyncError) -> Response[bytes]:
    return Response(msgspec.json.encode({"detail": str(error)}), status_code=400, media_type=JSON)

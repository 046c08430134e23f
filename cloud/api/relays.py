"""``/api/v1/meters/{meter_id}/relay``: an operator opens or closes a meter's relay, and follows it.

The command travels on the gateway's push channel at once; its outcome appears when the gateway's
journal reports what the meter said (see :mod:`cloud.gateways.relay_commands`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import HeaderParameter, JSONBody, QueryParameter

from cloud.api.estates import PathId
from cloud.api.metering import visible_meter
from cloud.auth.dependencies import Caller, DbSession
from cloud.auth.permissions import Permission
from cloud.errors import NotFound, ValidationFailed
from cloud.gateways import relay_commands
from cloud.gateways.relay_commands import RelayCommandView, RelayOutcome
from shared.journal import RelayAction

IdempotencyKey = Annotated[
    str,
    HeaderParameter(
        name="Idempotency-Key",
        min_length=1,
        max_length=100,
        description="created by the client once per command and resent unchanged on retry",
    ),
]


class RelayCommandCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``open`` cuts the supply, ``close`` restores it; ``reason`` goes to the audit trail."""

    action: RelayAction
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500, examples=["meter swap at unit 4"])]


class RelayCommandOut(msgspec.Struct):
    """A relay command and its outcome so far: ``pending`` until the gateway's journal reports the
    relay state the meter read back (``confirmed``, with ``relay_closed``) or a failure
    (``not_confirmed``, with ``detail``)."""

    id: int
    command_id: str
    meter_id: int
    gateway_id: int
    action: RelayAction
    reason: str
    requested_by_user_id: int | None
    requested_at: datetime
    outcome: RelayOutcome
    relay_closed: bool | None
    observed_at: datetime | None
    detail: str | None


class RelayController(Controller):
    """Relay commands by hand: super admins, and the managing agents and installers of the estate."""

    path = "/api/v1/meters/{meter_id:int}"
    tags = ("metering",)

    @post("/relay", summary="Open or close a meter's relay")
    async def switch(
        self,
        db: DbSession,
        principal: Caller,
        meter_id: PathId,
        data: JSONBody[RelayCommandCreate],
        idempotency_key: IdempotencyKey,
    ) -> Response[RelayCommandOut]:
        """Queues the command for the meter's gateway (201); a retry with the same key answers the
        same command (200), the same key with another action or reason 409. 422 if the meter has no
        relay, 409 if it is not on an active gateway. Audited with ``reason``."""
        meter = await visible_meter(db, principal, meter_id)
        principal.require(Permission.RELAYS_SWITCH)
        reason = data.reason.strip()
        if not reason:
            raise ValidationFailed("reason: say why the relay is switched; it goes to the audit trail")
        queued = await relay_commands.queue_relay_command(
            db,
            principal.actor(reason),
            meter,
            action=data.action,
            idempotency_key=idempotency_key.strip(),
            api_key_id=principal.api_key_id,
            now=datetime.now(UTC),
        )
        return Response(relay_command_out(queued.command), status_code=201 if queued.created else 200)

    @get("/relay-commands", summary="List a meter's relay commands")
    async def list_commands(
        self,
        db: DbSession,
        principal: Caller,
        meter_id: PathId,
        limit: Annotated[int, QueryParameter(ge=1, le=relay_commands.LIST_MAX)] = 20,
    ) -> list[RelayCommandOut]:
        """The meter's relay commands, newest first, each with its outcome so far."""
        await visible_meter(db, principal, meter_id)
        return [relay_command_out(c) for c in await relay_commands.relay_commands(db, meter_id, limit=limit)]

    @get("/relay-commands/{command_id:int}", summary="Get a relay command")
    async def get_command(
        self, db: DbSession, principal: Caller, meter_id: PathId, command_id: PathId
    ) -> RelayCommandOut:
        """One relay command of the meter and its outcome so far."""
        await visible_meter(db, principal, meter_id)
        found = await relay_commands.relay_commands(db, meter_id, command=command_id, limit=1)
        if not found:
            raise NotFound(f"relay command {command_id} of meter {meter_id} not found")
        return relay_command_out(found[0])


def relay_command_out(command: RelayCommandView) -> RelayCommandOut:
    """The response body of a relay command."""
    return RelayCommandOut(
        id=command.id,
        command_id=command.command_id,
        meter_id=command.meter_id,
        gateway_id=command.gateway_id,
        action=command.action,
        reason=command.reason,
        requested_by_user_id=command.requested_by_user_id,
        requested_at=command.requested_at,
        outcome=command.outcome,
        relay_closed=command.relay_closed,
        observed_at=command.observed_at,
        detail=command.detail,
    )

"""Operators' relay commands: queued once per idempotency key on the meter's gateway's push
channel, then followed to what the meter said, through the gateway's journal.

A command is a row in ``gateway_relay_commands`` and a ``relay_command`` push message in the same
transaction, so either both exist or neither does. The gateway journals the command, switches the
relay and journals the state the meter reports with the same ``command_id``
(:class:`~shared.journal.RelayStateConfirmed`), or a ``relay_not_confirmed`` alarm naming the
command when the meter never confirms it. The command's outcome is read from those two facts as
they arrive with the journal: nothing here assumes a relay switched.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.audit.actor import Actor
from cloud.audit.services import record
from cloud.errors import Conflict, ValidationFailed
from cloud.estates.metering_models import Gateway, GatewayStatus, Meter
from cloud.gateways.push import enqueue
from firmware_profiles import UnknownProfileError
from firmware_profiles.registry import packaged_registry
from shared.journal import AlarmKind, RelayAction, RelayReason
from shared.sync import RelayCommandPush

#: Most commands one listing returns.
LIST_MAX = 100


class RelayOutcome(enum.StrEnum):
    """Where a command stands, as far as the gateway's journal has told the cloud."""

    PENDING = "pending"
    """Queued; no relay state or failure for it has arrived yet."""
    CONFIRMED = "confirmed"
    """The meter reported its relay state for this command (``relay_closed`` says which)."""
    NOT_CONFIRMED = "not_confirmed"
    """The gateway gave up: the meter never confirmed the switch (``detail`` says why)."""


@dataclass(frozen=True, slots=True)
class RelayCommandView:
    """A queued command and its outcome so far."""

    id: int
    command_id: str
    meter_id: int
    gateway_id: int
    estate_id: int
    action: RelayAction
    reason: str
    requested_by_user_id: int | None
    requested_at: datetime
    outcome: RelayOutcome
    relay_closed: bool | None
    observed_at: datetime | None
    detail: str | None


@dataclass(frozen=True, slots=True)
class Queued:
    """The command for an idempotency key; ``created`` is false when an earlier request made it."""

    command: RelayCommandView
    created: bool


_COMMANDS = text(
    """
    SELECT c.id, c.command_id, c.meter_id, c.gateway_id, c.estate_id, c.action, c.reason,
           c.requested_by_user_id, c.created_at, s.closed, s.observed_at, f.detail
    FROM gateway_relay_commands c
    LEFT JOIN LATERAL (
        SELECT closed, observed_at FROM gateway_relay_states r
        WHERE r.gateway_id = c.gateway_id AND r.command_id = c.command_id ORDER BY r.seq LIMIT 1
    ) s ON true
    LEFT JOIN LATERAL (
        SELECT detail FROM gateway_alarms a
        WHERE a.gateway_id = c.gateway_id AND a.kind = :not_confirmed AND a.meter_id = c.meter_id::text
          AND left(a.detail, length(c.command_id) + 9) = 'command ' || c.command_id || ' '
        ORDER BY a.id LIMIT 1
    ) f ON true
    WHERE c.meter_id = :meter
      AND (CAST(:id AS bigint) IS NULL OR c.id = :id)
      AND (CAST(:key AS text) IS NULL OR c.idempotency_key = :key)
    ORDER BY c.id DESC
    LIMIT :limit
    """
)
_INSERT = text(
    """
    INSERT INTO gateway_relay_commands (command_id, meter_id, gateway_id, estate_id, action, reason,
        idempotency_key, requested_by_user_id, api_key_id, push_cursor)
    VALUES (:command_id, :meter, :gateway, :estate, :action, :reason, :key, :user, :api_key, :cursor)
    RETURNING id
    """
)


async def queue_relay_command(
    session: AsyncSession,
    actor: Actor,
    meter: Meter,
    *,
    action: RelayAction,
    idempotency_key: str,
    api_key_id: int | None,
    now: datetime,
) -> Queued:
    """Queue ``action`` for the meter's relay, with ``actor.reason`` as the reason; a repeat of the
    same key and content returns the first command, the same key with other content is refused."""
    earlier = await _commands(session, meter.id, key=idempotency_key, limit=1)
    if earlier:
        if (earlier[0].action, earlier[0].reason) != (action, actor.reason):
            raise Conflict(
                f"Idempotency-Key {idempotency_key!r} was used for command {earlier[0].id} "
                f"({earlier[0].action.value}: {earlier[0].reason!r}); use a new key for a new command"
            )
        return Queued(earlier[0], created=False)
    gateway = await _switching_gateway(session, meter)
    command_id = f"op-{uuid.uuid4().hex}"
    push = RelayCommandPush(
        command_id=command_id,
        meter_id=str(meter.id),
        action=action,
        reason=RelayReason.OPERATOR,
        issued_at=now,
    )
    cursor = await enqueue(session, gateway.id, push)
    params = {
        "command_id": command_id,
        "meter": meter.id,
        "gateway": gateway.id,
        "estate": meter.estate_id,
        "action": action.value,
        "reason": actor.reason,
        "key": idempotency_key,
        "user": actor.user_id,
        "api_key": api_key_id,
        "cursor": cursor,
    }
    row_id = (await session.execute(_INSERT, params)).scalar_one()
    after = {
        "command_id": command_id,
        "action": action.value,
        "gateway_id": gateway.id,
        "push_cursor": cursor,
    }
    await record(
        session,
        actor,
        "meter.relay_command",
        ("meter", meter.id),
        estate_id=meter.estate_id,
        before=None,
        after=after,
    )
    [command] = await _commands(session, meter.id, command=row_id, limit=1)
    return Queued(command, created=True)


async def relay_commands(
    session: AsyncSession, meter_id: int, *, command: int | None = None, limit: int = LIST_MAX
) -> Sequence[RelayCommandView]:
    """The meter's commands, newest first (or just ``command``), each with its outcome so far."""
    return await _commands(session, meter_id, command=command, limit=min(max(limit, 1), LIST_MAX))


async def _switching_gateway(session: AsyncSession, meter: Meter) -> Gateway:
    """The active gateway that runs the meter, if the meter has a relay to switch."""
    try:
        has_relay = packaged_registry().get(meter.firmware_profile_id).has_relay
    except UnknownProfileError:
        has_relay = False
    if not has_relay:
        raise ValidationFailed(
            f"meter {meter.id} ({meter.firmware_profile_id}) has no relay the gateway can switch"
        )
    gateway = await session.get(Gateway, meter.gateway_id) if meter.gateway_id is not None else None
    if gateway is None or gateway.status != GatewayStatus.ACTIVE.value:
        raise Conflict(
            f"meter {meter.id} is not on an active gateway; assign it to an enrolled gateway first"
        )
    return gateway


async def _commands(
    session: AsyncSession, meter_id: int, *, command: int | None = None, key: str | None = None, limit: int
) -> list[RelayCommandView]:
    params = {
        "meter": meter_id,
        "id": command,
        "key": key,
        "limit": limit,
        "not_confirmed": AlarmKind.RELAY_NOT_CONFIRMED.value,
    }
    return [_view(row) for row in await session.execute(_COMMANDS, params)]


def _view(row: Any) -> RelayCommandView:
    if row.closed is not None:
        outcome = RelayOutcome.CONFIRMED
    elif row.detail is not None:
        outcome = RelayOutcome.NOT_CONFIRMED
    else:
        outcome = RelayOutcome.PENDING
    return RelayCommandView(
        id=row.id,
        command_id=row.command_id,
        meter_id=row.meter_id,
        gateway_id=row.gateway_id,
        estate_id=row.estate_id,
        action=RelayAction(row.action),
        reason=row.reason,
        requested_by_user_id=row.requested_by_user_id,
        requested_at=row.created_at,
        outcome=outcome,
        relay_closed=row.closed,
        observed_at=row.observed_at,
        detail=row.detail,
    )

"""An operator's relay command reaches the gateway on the push channel, and its outcome is what the
gateway's journal then reports: the meter's read-back state, or the alarm that it never confirmed."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.audit.actor import Actor
from cloud.database.session import transaction
from cloud.estates.metering import add_meter
from cloud.estates.metering_models import Meter, MeterRole
from cloud.gateways.relay_commands import RelayOutcome, queue_relay_command, relay_commands
from shared.journal import AlarmKind, RelayAction, RelayCommand, RelayReason, RelayStateConfirmed
from shared.quantities import Utility
from shared.sync import AckStatus, RelayCommandPush
from tests.integration.cloud.conftest import ADMIN, EVERYTHING
from tests.integration.sync_cloud.conftest import Site
from tests.integration.sync_cloud.gateway import SimulatedGateway
from tests.integration.sync_cloud.test_config_push_assurance import poll
from tests.integration.sync_cloud.test_journal_intake import send

pytestmark = pytest.mark.anyio
OPERATOR = Actor(None, "system", "127.0.0.1", "meter swap")


async def relay_meter(engine: AsyncEngine, site: Site) -> Meter:
    """A DDS238-2 (it has a relay) on the site's unit and gateway."""
    async with transaction(engine) as session:
        return await add_meter(
            session, EVERYTHING, ADMIN, site.estate_id, utility=Utility.ELECTRICITY, serial="RELAY-1",
            firmware_profile_id="hiking-dds238-2", role=MeterRole.BULK, unit_id=None, gateway_id=site.gateway_id,
        )  # fmt: skip


async def queue(engine: AsyncEngine, meter: Meter, action: RelayAction, key: str) -> str:
    async with transaction(engine) as session:
        queued = await queue_relay_command(
            session,
            OPERATOR,
            meter,
            action=action,
            idempotency_key=key,
            api_key_id=None,
            now=datetime.now(UTC),
        )
    return queued.command.command_id


async def test_the_command_is_pushed_and_its_outcome_follows_the_gateways_journal(
    client: httpx.AsyncClient, engine: AsyncEngine, site: Site, gateway: SimulatedGateway
) -> None:
    meter = await relay_meter(engine, site)
    opened = await queue(engine, meter, RelayAction.OPEN, "a")
    closed = await queue(engine, meter, RelayAction.CLOSE, "b")

    pushed = [m for m in (await poll(client, gateway, 0)).messages if isinstance(m, RelayCommandPush)]
    assert [(p.command_id, p.action, p.reason) for p in pushed] == [
        (opened, RelayAction.OPEN, RelayReason.OPERATOR),
        (closed, RelayAction.CLOSE, RelayReason.OPERATOR),
    ]
    async with transaction(engine) as session:
        before = await relay_commands(session, meter.id)
    assert [c.outcome for c in before] == [RelayOutcome.PENDING, RelayOutcome.PENDING]

    # What the edge journals: each command, the meter's read-back for the first, and for the second
    # the alarm its relay controller raises when the meter never confirms (edge_agent.relay).
    meter_id = str(meter.id)
    for push in pushed:
        gateway.append(RelayCommand(meter_id=meter_id, command_id=push.command_id, action=push.action,
                                    reason=push.reason))  # fmt: skip
    gateway.append(
        RelayStateConfirmed(meter_id=meter_id, command_id=opened, closed=False, observed_at=gateway.clock)
    )
    gateway.alarm(meter_id, AlarmKind.RELAY_NOT_CONFIRMED,
                  f"command {closed} (close) not confirmed after 3 attempts; no answer")  # fmt: skip
    ack = await send(client, gateway, 1, len(gateway.entries))

    assert ack.status is AckStatus.ACCEPTED
    async with transaction(engine) as session:
        newest_first = await relay_commands(session, meter.id)
    second, first = newest_first
    assert (first.command_id, first.outcome, first.relay_closed) == (opened, RelayOutcome.CONFIRMED, False)
    assert first.observed_at is not None
    assert (second.command_id, second.outcome, second.relay_closed) == (
        closed,
        RelayOutcome.NOT_CONFIRMED,
        None,
    )
    assert second.detail is not None and "no answer" in second.detail

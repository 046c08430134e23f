"""Relays switched over LoRaWAN: a confirmed downlink, the device's ack, then an uplink's word.

ChirpStack's ``txack`` says only that a gateway transmitted the downlink; its ``ack`` (for a
confirmed downlink) says the device received it; only a later uplink reporting the relay says it
switched. :meth:`LoRaWANRelay.switch` publishes the command and waits (bounded) for the ack;
:meth:`LoRaWANRelay.read_state` then waits (bounded) for the first uplink after the ack that reports
the relay. ChirpStack handles a frame's acknowledgement before it publishes that frame's ``up``
event, so the uplink carrying the ack counts. The relay controller retries a failed attempt with
backoff and believes only :meth:`read_state`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from edge_agent.adapters.frames import CommandNotDelivered, RadioError, RadioMeter, RadioTimeout
from edge_agent.adapters.frames.relay_reports import RelayReports
from edge_agent.config.model import MeterConfig
from firmware_profiles import Downlink, encode_relay_downlink

log = logging.getLogger(__name__)

#: Publishes one relay downlink for a meter under the given id (the bridge's MQTT client).
Publish = Callable[[str, Downlink, uuid.UUID], Awaitable[None]]


@dataclass(slots=True)
class _Command:
    """The latest relay downlink sent to one device, and what the network said about it."""

    id: uuid.UUID
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    acknowledged: bool = False
    #: How many relay reports the device had sent when the ack arrived.
    reports_at_ack: int = 0


class LoRaWANRelay:
    """A :class:`~edge_agent.relay.controller.RelayActuator` for LoRaWAN meters with a relay."""

    def __init__(
        self,
        meters: Mapping[str, RadioMeter],
        publish: Publish,
        *,
        ack_timeout_s: float,
        state_timeout_s: float,
    ) -> None:
        self.meters = meters
        self.publish = publish
        self.ack_timeout_s = ack_timeout_s
        self.state_timeout_s = state_timeout_s
        self._commands: dict[str, _Command] = {}
        self.reports = RelayReports(meters)

    def handles(self, meter_id: str) -> bool:
        """Whether this bridge switches the meter's relay (a configured LoRaWAN meter with one)."""
        meter = self.meters.get(meter_id)
        return meter is not None and meter.profile.has_relay

    async def switch(self, meter: MeterConfig, closed: bool) -> None:
        """Send the relay downlink and wait for the device to acknowledge it."""
        radio = self._meter(meter.id)
        command = _Command(id=uuid.uuid4())
        self._commands[meter.id] = command
        await self.publish(meter.id, encode_relay_downlink(radio.profile, closed), command.id)
        try:
            async with asyncio.timeout(self.ack_timeout_s):
                await command.answered.wait()
        except TimeoutError:
            raise RadioTimeout(
                f"meter {meter.id}: no ack for relay downlink {command.id} within {self.ack_timeout_s:g} s"
            ) from None
        if not command.acknowledged:
            raise CommandNotDelivered(
                f"meter {meter.id}: the network reports downlink {command.id} not acknowledged"
            )

    async def read_state(self, meter: MeterConfig) -> bool:
        """The relay state from the first uplink after the ack (or the last one seen, without a command)."""
        self._meter(meter.id)
        command = self._commands.get(meter.id)
        if command is None or not command.acknowledged:
            return self.reports.latest(meter.id)
        return await self.reports.next_after(
            meter.id, command.reports_at_ack, self.state_timeout_s, "the ack"
        )

    def on_ack(self, meter_id: str, queue_item_id: str, acknowledged: bool) -> None:
        """ChirpStack's ``ack`` event: the device acknowledged the downlink (or not)."""
        command = self._commands.get(meter_id)
        if command is None or command.answered.is_set():
            return
        if queue_item_id and queue_item_id != str(command.id):
            log.info("meter %s: ack for an earlier downlink %s ignored", meter_id, queue_item_id)
            return
        command.acknowledged = acknowledged
        command.reports_at_ack = self.reports.count(meter_id)
        command.answered.set()

    def _meter(self, meter_id: str) -> RadioMeter:
        radio = self.meters.get(meter_id)
        if radio is None or not radio.profile.has_relay:
            raise RadioError(f"meter {meter_id} has no relay this LoRaWAN bridge switches")
        return radio

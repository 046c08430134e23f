"""Relays switched over NB-IoT: the command rides on the answer to the meter's next POST.

An NB-IoT meter is reachable only while it talks (it sleeps between reports, behind the operator's
NAT), so a relay command waits for the meter's next uplink and goes back in that request's response
payload. :meth:`NbiotRelay.switch` waits (bounded) until a response has carried it;
:meth:`NbiotRelay.read_state` then waits (bounded) for the following uplink reporting the relay,
since the uplink that collected the command was sent before the meter acted on it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from edge_agent.adapters.frames import RadioError, RadioMeter, RadioTimeout
from edge_agent.adapters.frames.relay_reports import RelayReports
from edge_agent.config.model import MeterConfig
from firmware_profiles import encode_relay_downlink

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Command:
    """A relay command waiting for (or carried by) a response."""

    payload: bytes
    delivered: asyncio.Event = field(default_factory=asyncio.Event)
    #: How many relay reports the meter had sent when a response carried the command.
    reports_at_delivery: int = 0


class NbiotRelay:
    """A :class:`~edge_agent.relay.controller.RelayActuator` for NB-IoT meters with a relay."""

    def __init__(
        self, meters: Mapping[str, RadioMeter], *, command_timeout_s: float, state_timeout_s: float
    ) -> None:
        self.meters = meters
        self.command_timeout_s = command_timeout_s
        self.state_timeout_s = state_timeout_s
        self.reports = RelayReports(meters)
        self._commands: dict[str, _Command] = {}

    def handles(self, meter_id: str) -> bool:
        """Whether this bridge switches the meter's relay (a configured NB-IoT meter with one)."""
        meter = self.meters.get(meter_id)
        return meter is not None and meter.profile.has_relay

    async def switch(self, meter: MeterConfig, closed: bool) -> None:
        """Queue the command for the meter's next POST and wait until a response carries it."""
        radio = self._meter(meter.id)
        command = _Command(encode_relay_downlink(radio.profile, closed).payload)
        self._commands[meter.id] = command
        try:
            async with asyncio.timeout(self.command_timeout_s):
                await command.delivered.wait()
        except TimeoutError:
            if self._commands.get(meter.id) is command:
                del self._commands[meter.id]  # a retry queues it afresh; never send a stale one later
            raise RadioTimeout(
                f"meter {meter.id}: did not call in within {self.command_timeout_s:g} s to collect "
                "the relay command"
            ) from None

    async def read_state(self, meter: MeterConfig) -> bool:
        """The state from the first uplink after the command went out (or the last one seen)."""
        self._meter(meter.id)
        command = self._commands.get(meter.id)
        if command is None or not command.delivered.is_set():
            return self.reports.latest(meter.id)
        return await self.reports.next_after(
            meter.id, command.reports_at_delivery, self.state_timeout_s, "the command's delivery"
        )

    def take_command(self, meter_id: str) -> bytes:
        """The payload for the response to the meter's POST: its pending relay command, or nothing."""
        command = self._commands.get(meter_id)
        if command is None or command.delivered.is_set():
            return b""
        command.reports_at_delivery = self.reports.count(meter_id)
        command.delivered.set()
        log.info("meter %s: relay command %s sent in the response", meter_id, command.payload.hex())
        return command.payload

    def _meter(self, meter_id: str) -> RadioMeter:
        radio = self.meters.get(meter_id)
        if radio is None or not radio.profile.has_relay:
            raise RadioError(f"meter {meter_id} has no relay this NB-IoT bridge switches")
        return radio

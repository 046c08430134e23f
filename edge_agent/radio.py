"""The agent's radio meters: the LoRaWAN bridge and the NB-IoT server, started only when configured.

Both bridges hand decoded frames to one :class:`AgentSink` over the agent's own billing service and
relay controller, so a LoRaWAN or NB-IoT reading is rated, journalled and judged exactly like a
Modbus one. Their modules (and aiomqtt, aiocoap and cryptography with them) are imported only when
the gateway has meters of that protocol: a Modbus-only agent never loads them.

Radio meters are not polled, so their communication health is judged by silence: a meter that has
sent nothing for ``lost_after_intervals`` of its uplink intervals (``[[meters]] uplink_interval_s``)
raises ``communication_lost``; the next frame it sends clears it with ``communication_restored``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from edge_agent.adapters.frames.billing_sink import BillingSink
from edge_agent.adapters.frames.feed import MAX_DETAIL_CHARS
from edge_agent.adapters.lorawan.settings import LoRaWANDevice
from edge_agent.adapters.nbiot.settings import NbiotDevice
from edge_agent.config.model import EdgeConfig, MeterConfig
from edge_agent.store.journal import Journal
from edge_agent.store.statements import CLEAR_OPEN_ALARM, UPSERT_OPEN_ALARM
from firmware_profiles import Profile, ProfileRegistry, Transport
from shared.journal import Alarm, AlarmKind, ReadingSource
from shared.quantities import BILLING_REGISTER, Measurement

if TYPE_CHECKING:
    import sqlite_utils

    from edge_agent.adapters.lorawan.bridge import LoRaWANBridge
    from edge_agent.adapters.nbiot.server import NbiotBridge
    from edge_agent.billing.service import BillingService
    from edge_agent.relay.controller import RelayActuator, RelayController

log = logging.getLogger(__name__)

#: How often (real seconds) silent meters are looked for; the alarm is late by at most this.
WATCH_PERIOD_S = 1.0
#: How long a stopping bridge may take to close its connection cleanly.
STOP_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class RadioHealth:
    """What the page shows about a radio meter's link."""

    transport: Transport
    last_heard_at: datetime | None
    lost: bool
    rssi_dbm: int | None = None
    snr_db: float | None = None


class AgentSink(BillingSink):
    """The bridges' sink; also keeps the agent's latest billing register per meter, as Modbus does."""

    def __init__(
        self,
        billing: BillingService,
        relays: RelayController,
        journal: Journal,
        meters: Mapping[str, MeterConfig],
        clock: Callable[[], datetime],
        *,
        on_register: Callable[[str, Decimal, datetime], None],
    ) -> None:
        super().__init__(billing, relays, journal, meters, clock)
        self.on_register = on_register

    async def on_reading(
        self,
        meter_id: str,
        measurements: dict[Measurement, Decimal],
        read_at: datetime,
        source: ReadingSource,
    ) -> None:
        await super().on_reading(meter_id, measurements, read_at, source)
        meter = self.meters.get(meter_id)
        register = None if meter is None else measurements.get(BILLING_REGISTER[meter.utility])
        if register is not None:
            self.on_register(meter_id, register, read_at)


def lorawan_devices(meters: Iterable[MeterConfig]) -> tuple[LoRaWANDevice, ...]:
    """The LoRaWAN bridge's devices: every meter with a DevEUI."""
    return tuple(
        LoRaWANDevice(meter_id=m.id, dev_eui=m.dev_eui, pulse_weight=m.pulse_weight,
                      pulse_input=m.pulse_input, history_period_s=m.history_period_s)
        for m in meters if m.dev_eui is not None
    )  # fmt: skip


def nbiot_devices(config: EdgeConfig) -> tuple[NbiotDevice, ...]:
    """The NB-IoT server's devices: every meter with an IMEI, its keys in ``[nbiot] oscore_dir``."""
    if config.nbiot is None:
        return ()
    return tuple(
        NbiotDevice(meter_id=m.id, imei=m.imei, oscore_dir=config.nbiot.oscore_context(m.imei),
                    pulse_weight=m.pulse_weight, pulse_input=m.pulse_input,
                    history_period_s=m.history_period_s)
        for m in config.meters if m.imei is not None
    )  # fmt: skip


def silence_changes(
    meters: Iterable[MeterConfig],
    last_heard: Mapping[str, datetime],
    lost: set[str],
    *,
    since: datetime,
    now: datetime,
    multiple: Callable[[MeterConfig], int],
) -> list[tuple[MeterConfig, bool, str]]:
    """Meters whose communication state changes now: (meter, lost?, why). Pure.

    A meter never heard since ``since`` (the agent's start) is judged from then.
    """
    changes = []
    for meter in meters:
        heard = last_heard.get(meter.id)
        silent_s = (now - (heard or since)).total_seconds()
        limit_s = multiple(meter) * meter.poll_interval_s
        if meter.id not in lost and silent_s > limit_s:
            last = f"last frame {heard.isoformat()}" if heard else f"no frame since {since.isoformat()}"
            changes.append((meter, True, f"{meter.transport} meter silent for {silent_s:.0f} s ({last}); "
                            f"expected a frame every {meter.poll_interval_s} s"))  # fmt: skip
        elif meter.id in lost and heard is not None and silent_s <= limit_s:
            changes.append((meter, False, f"{meter.transport} frame received at {heard.isoformat()}"))
    return changes


async def journal_communication(
    journal: Journal, at: datetime, meter_id: str, lost: bool, detail: str
) -> None:
    """Journal ``communication_lost`` (kept open) or ``communication_restored`` (closing it)."""
    kind = AlarmKind.COMMUNICATION_LOST if lost else AlarmKind.COMMUNICATION_RESTORED
    detail = detail[:MAX_DETAIL_CHARS]
    with journal.transaction(at) as txn:
        entry = txn.append(Alarm(meter_id=meter_id, kind=kind, detail=detail))
        if lost:
            txn.execute(UPSERT_OPEN_ALARM, (meter_id, kind.value, detail, entry.seq))
        else:
            txn.execute(CLEAR_OPEN_ALARM, (meter_id, AlarmKind.COMMUNICATION_LOST.value))
    await txn.committed()
    log.warning("meter %s: %s (%s)", meter_id, kind.value, detail)


class RadioLinks:
    """The bridges the configuration asks for, their relay actuators, and radio meters' health."""

    def __init__(
        self,
        config: EdgeConfig,
        *,
        registry: ProfileRegistry,
        billing: BillingService,
        relays: RelayController,
        journal: Journal,
        reader: sqlite_utils.Database,
        clock: Callable[[], datetime],
        on_register: Callable[[str, Decimal, datetime], None],
    ) -> None:
        self.config = config
        self.registry = registry
        self.journal = journal
        self.clock = clock
        #: The radio meters by id; the sink reads it, so it is updated in place on a new config.
        self.meters: dict[str, MeterConfig] = {}
        self.sink = AgentSink(billing, relays, journal, self.meters, clock, on_register=on_register)
        self.lorawan: LoRaWANBridge | None = None
        self.nbiot: NbiotBridge | None = None
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._started_at = clock()
        lost_rows = reader.execute("SELECT meter_id FROM open_alarm WHERE kind = ?",
                                   (AlarmKind.COMMUNICATION_LOST.value,))  # fmt: skip
        self._lost: set[str] = {row[0] for row in lost_rows.fetchall()}

    async def start(self) -> None:
        """Start the bridges the configured meters need, and the silence watch."""
        self._set_meters(self.config)
        await self._start_bridges()
        self._tasks["watch"] = asyncio.create_task(self._watch(), name="radio silence watch")

    async def stop(self) -> None:
        """Stop the bridges and the watch."""
        await self._stop_lorawan()
        await self._stop_nbiot()
        task = self._tasks.pop("watch", None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def running(self) -> bool:
        return "watch" in self._tasks

    async def use_config(self, config: EdgeConfig) -> None:
        """Restart a bridge whose meters changed (a new cloud document); leave the other running."""
        old = self.config
        self.config = config
        self._set_meters(config)
        if not self.running:
            return  # start() starts what this configuration needs
        if lorawan_devices(old.meters) != lorawan_devices(config.meters) or _radio(old) != _radio(config):
            await self._stop_lorawan()
        if nbiot_devices(old) != nbiot_devices(config) or _radio(old) != _radio(config):
            await self._stop_nbiot()
        await self._start_bridges()

    def actuator_for(self, meter: MeterConfig) -> RelayActuator | None:
        """The bridge's relay actuator for a radio meter with a relay."""
        for bridge in (self.lorawan, self.nbiot):
            if bridge is not None and bridge.relay.handles(meter.id):
                return bridge.relay
        return None

    def health(self, meter: MeterConfig) -> RadioHealth:
        """The meter's link as the bridges last saw it."""
        bridge = self.lorawan if meter.transport is Transport.LORAWAN else self.nbiot
        heard = None if bridge is None else bridge.health.last_heard.get(meter.id)
        signal = self.lorawan.health.signal.get(meter.id) if self.lorawan is not None else None
        return RadioHealth(
            transport=meter.transport, last_heard_at=heard, lost=meter.id in self._lost,
            rssi_dbm=None if signal is None else signal[0], snr_db=None if signal is None else signal[1],
        )  # fmt: skip

    def _set_meters(self, config: EdgeConfig) -> None:
        self.meters.clear()
        self.meters.update({m.id: m for m in config.meters if m.transport is not Transport.MODBUS})

    async def _start_bridges(self) -> None:
        config = self.config
        devices = lorawan_devices(config.meters)
        if self.lorawan is None and devices and config.lorawan is not None:
            from edge_agent.adapters.lorawan.bridge import (
                LoRaWANBridge,
            )  # only when needed: see the module doc

            settings = dataclasses.replace(config.lorawan, devices=devices)
            self.lorawan = LoRaWANBridge(settings, self._profiles(devices), self.sink, clock=self.clock)
            self._tasks["lorawan"] = task = asyncio.create_task(self.lorawan.run(), name="lorawan bridge")
            task.add_done_callback(_report_end)
        nbiot = nbiot_devices(config)
        if self.nbiot is None and nbiot and config.nbiot is not None:
            from edge_agent.adapters.nbiot.server import NbiotBridge  # only when needed: see the module doc

            server = dataclasses.replace(config.nbiot, devices=nbiot)
            bridge = NbiotBridge(server, self._profiles(nbiot), self.sink, clock=self.clock)
            await bridge.start()
            self.nbiot = bridge

    def _profiles(self, devices: Iterable[LoRaWANDevice | NbiotDevice]) -> dict[str, Profile]:
        return {d.meter_id: self.registry.get(self.meters[d.meter_id].profile) for d in devices}

    async def _stop_lorawan(self) -> None:
        task = self._tasks.pop("lorawan", None)
        self.lorawan = None
        if task is None:
            return
        task.cancel()
        await asyncio.wait({task}, timeout=STOP_TIMEOUT_S)
        if not task.done():
            # aiomqtt waits without a limit for the broker to confirm the disconnection; a second
            # cancellation ends that wait, so stopping is bounded even when the broker never answers.
            log.warning(
                "LoRaWAN bridge: no clean MQTT disconnect within %.0f s; closing anyway", STOP_TIMEOUT_S
            )
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _stop_nbiot(self) -> None:
        bridge, self.nbiot = self.nbiot, None
        if bridge is not None:
            await bridge.close()

    async def _watch(self) -> None:
        """Raise and clear communication-lost alarms as radio meters fall silent and speak again."""
        while True:
            await asyncio.sleep(WATCH_PERIOD_S)
            heard: dict[str, datetime] = {}
            for bridge in (self.lorawan, self.nbiot):
                if bridge is not None:
                    heard.update(bridge.health.last_heard)
            now = self.clock()
            changes = silence_changes(self.meters.values(), heard, self._lost, since=self._started_at,
                                      now=now, multiple=self._lost_after)  # fmt: skip
            for meter, lost, detail in changes:
                await journal_communication(self.journal, now, meter.id, lost, detail)
                (self._lost.add if lost else self._lost.discard)(meter.id)

    def _lost_after(self, meter: MeterConfig) -> int:
        settings = self.config.lorawan if meter.transport is Transport.LORAWAN else self.config.nbiot
        return 3 if settings is None else settings.lost_after_intervals


def _radio(config: EdgeConfig) -> tuple[object, object]:
    return config.lorawan, config.nbiot


def _report_end(task: asyncio.Task[None]) -> None:
    """A bridge ends only when cancelled or when the journal failed to commit: say which."""
    if not task.cancelled() and task.exception() is not None:
        log.critical("%s stopped: %r", task.get_name(), task.exception())

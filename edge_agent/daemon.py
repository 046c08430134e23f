"""The gateway agent: wires the store, buses, billing, relay control and the local page together.

``quantify-edge run --config edge.toml`` builds one :class:`GatewayAgent` and runs it until SIGTERM
or SIGINT. Every bus has one coordinator and one poll scheduler; LoRaWAN and NB-IoT meters are heard
through their bridges (``edge_agent.radio``, started only when configured); every reading, whatever
its protocol, goes through the one billing service; communication lost and restored become alarm
entries; a timer re-applies credit control when a friendly-credit window that deferred a
disconnection ends.

With a ``[cloud]`` section the agent also runs the sync client (``edge_agent.sync``): journal upload,
balances and config back, and the push channel. The configuration it runs is ``edge.toml`` merged
with the cloud's document applied last (kept in the store); a new document switches meters and
billing over in place (:meth:`GatewayAgent.use_config`) without losing any meter's state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from edge_agent.adapters.modbus.coordinator import BusCoordinator
from edge_agent.adapters.modbus.health import TransitionKind
from edge_agent.adapters.modbus.readings import MeterReading
from edge_agent.adapters.modbus.scheduler import PollScheduler
from edge_agent.billing.meters import build_meter_billing
from edge_agent.billing.service import BillingService
from edge_agent.billing.state import MeterBillingState, decode_state
from edge_agent.config.document import DocumentConfig, config_from_document
from edge_agent.config.model import EdgeConfig, MeterConfig
from edge_agent.errors import ConfigError
from edge_agent.radio import RadioLinks, journal_communication
from edge_agent.relay.controller import RelayActuator, RelayController
from edge_agent.status import GatewayStatus
from edge_agent.status_report import StatusReporter
from edge_agent.store.database import open_database, open_reader
from edge_agent.store.journal import Journal
from edge_agent.sync.client import SyncClient
from edge_agent.sync.keys import GatewayKey, load_key
from edge_agent.sync.store import stored_document
from edge_agent.sync.transport import CloudTransport
from edge_agent.web import WebServer, create_web_app
from firmware_profiles import FirmwareProfileError, ProfileRegistry, Transport, packaged_registry
from shared.journal import ReadingSource
from shared.quantities import BILLING_REGISTER, Measurement
from shared.sync.gateway_api import GatewayConfigDocument

log = logging.getLogger(__name__)

#: Longest sleep of the credit re-check timer, so a deferred decision is never late by more.
RECHECK_PERIOD_S = 30.0


def utc_now() -> datetime:
    return datetime.now(UTC)


async def cancel_and_wait(tasks: Sequence[asyncio.Task[None]], *, recancel_s: float = 1.0) -> None:
    """Cancel the tasks and wait until every one has ended.

    On Python 3.11, ``asyncio.wait_for`` (which pymodbus awaits every answer with) loses a
    cancellation that lands just as its answer arrives, and the task carries on polling. So a task
    still running ``recancel_s`` after its cancellation is cancelled again, until it ends.
    """
    for task in tasks:
        task.cancel()
    pending = {task for task in tasks if not task.done()}
    while pending:
        _, pending = await asyncio.wait(pending, timeout=recancel_s)
        for task in pending:
            log.warning("task %s ignored its cancellation; cancelling it again", task.get_name())
            task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


class ModbusRelay:
    """A relay switched and read over the meter's own Modbus bus."""

    def __init__(self, coordinator: BusCoordinator) -> None:
        self.coordinator = coordinator

    async def switch(self, meter: MeterConfig, closed: bool) -> None:
        await self.coordinator.write_relay(meter, closed)

    async def read_state(self, meter: MeterConfig) -> bool:
        return await self.coordinator.read_relay(meter)


class GatewayAgent:
    """One estate's gateway: everything the agent runs, built from its configuration."""

    def __init__(
        self,
        config: EdgeConfig,
        *,
        registry: ProfileRegistry | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        #: ``edge.toml`` as read; :attr:`config` is what runs (merged with the cloud's document).
        self.local_config = config
        cloud = config.cloud
        # The key first: a missing or exposed key stops the agent before it opens anything.
        key = load_key(cloud.key_file) if cloud is not None and cloud.enabled else None
        self.registry = registry or packaged_registry()
        self.clock = clock
        self.db = open_database(config.store_path)
        self.reader = open_reader(config.store_path)
        self.config = config = self._stored_config(config)
        self.journal = Journal(
            self.db, max_rows=config.journal.group_max_rows, max_wait_ms=config.journal.group_max_wait_ms
        )
        self.coordinators = {bus.id: self._coordinator(bus.id) for bus in config.buses}
        self._pollers: dict[str, asyncio.Task[None]] = {}
        self.relays = RelayController(self.journal, self.reader, self._actuator_for, clock)
        self.billing = BillingService(
            config, self.journal, reader=self.reader, registry=self.registry, relays=self.relays, clock=clock
        )
        #: Each meter's latest read failure, until it answers again (shown on the local page).
        self.last_failure: dict[str, str] = {}
        self.last_register: dict[str, tuple[Decimal, datetime]] = {}
        self.radio = RadioLinks(
            config, registry=self.registry, billing=self.billing, relays=self.relays, journal=self.journal,
            reader=self.reader, clock=clock, on_register=self._note_register,
        )  # fmt: skip
        self.reporter = StatusReporter(self)
        self.web: WebServer | None = None
        self.sync: SyncClient | None = None if key is None else self._sync_client(key)

    async def run(self, stop: asyncio.Event) -> None:
        """Poll, bill and control until ``stop`` is set; then shut down cleanly."""
        try:
            await self.radio.start()  # a bridge that cannot start (a key folder missing) stops the agent
        except Exception:
            await self.shutdown([])
            raise
        await self._confirm_relays_at_start(self.config.meters)
        for bus_id in self.coordinators:
            self._start_polling(bus_id)
        tasks = [asyncio.create_task(self._recheck_loop(), name="credit recheck")]
        tasks.append(await self._start_web())
        if self.sync is not None:
            tasks.append(asyncio.create_task(self.sync.run(), name="sync"))
        log.info("gateway %s running: %d meters on %d buses, %d by radio", self.config.gateway_id,
                 len(self.config.meters), len(self.coordinators), len(self.radio.meters))  # fmt: skip
        try:
            await stop.wait()
        finally:
            await self.shutdown(tasks)

    async def shutdown(self, tasks: list[asyncio.Task[None]]) -> None:
        if self.web is not None:
            self.web.stop()
        await cancel_and_wait([*tasks, *self._pollers.values()])
        await self.relays.close()
        await self.radio.stop()
        for coordinator in self.coordinators.values():
            coordinator.close()
        self.journal.close()
        self.reader.conn.close()
        log.info("gateway %s stopped; journal head seq %d", self.config.gateway_id, self.journal.head.seq)

    # --- what the sync client needs (edge_agent.sync.ports.SyncedGateway) ---------------------

    @property
    def gateway_id(self) -> str:
        """The id the gateway signs its requests with (the cloud's, written by enrolment)."""
        return self.config.gateway_id

    def meter_config(self, meter_id: str) -> MeterConfig | None:
        """The meter this agent runs under ``meter_id``, if any."""
        billing = self.billing.meters.get(meter_id)
        return None if billing is None else billing.meter

    def check_document(self, document: GatewayConfigDocument) -> DocumentConfig:
        """``edge.toml`` merged with a cloud document, checked; raises ``ConfigError``.

        Every meter's billing is built here too (tariffs compiled), so nothing can fail in
        :meth:`use_config` after the document was committed as applied.
        """
        merged = config_from_document(self.local_config, document, self.registry)
        for meter in merged.config.meters:
            try:
                build_meter_billing(meter, merged.config, self.registry)
            except (ValueError, FirmwareProfileError) as error:  # TariffError is a ValueError
                where = f"cloud config version {document.version}: meter {meter.id}"
                raise ConfigError(f"{where}: {error}") from None
        return merged

    async def use_config(self, merged: DocumentConfig) -> None:
        """Switch meters and billing to a new configuration, keeping every meter's state.

        Meters that stay keep their billing state (register baseline, month-to-date, carry,
        policy state) and their relay state; new meters start from what the store holds for them
        (nothing, or their state from before they were removed); removed meters stop being
        polled. Only buses whose meters changed have their poller restarted.
        """
        for meter_id, why in merged.unreachable.items():
            log.warning("meter %s from the cloud's config is not polled: %s", meter_id, why)
        new, old_meters = merged.config, {m.id: m for m in self.config.meters}
        self.config = new
        self.billing.config = new
        self.billing.meters = {m.id: build_meter_billing(m, new, self.registry) for m in new.meters}
        states = self.billing.states
        self.billing.states = {
            m.id: states[m.id] if m.id in states else self._stored_state(m.id) for m in new.meters
        }
        for bus in new.buses:
            if self.coordinators[bus.id].meters != tuple(m for m in new.meters if m.bus == bus.id):
                await self._restart_polling(bus.id)
        await self.radio.use_config(new)
        if self._pollers or self.radio.running:
            # Running: new and changed meters' relays are read before credit control acts on them.
            await self._confirm_relays_at_start([m for m in new.meters if old_meters.get(m.id) != m])

    # --- the local page's view of the agent (edge_agent.web.GatewayControl) -------------------

    def status(self) -> GatewayStatus:
        """What the page and /api/status show."""
        return self.reporter.snapshot()

    async def read_meter_now(self, meter_id: str) -> str:
        """Read one meter at once, through the same pipeline as a scheduled poll."""
        meter = self._meter(meter_id)
        if meter.bus is None:
            heard = self.radio.health(meter).last_heard_at
            when = "nothing yet" if heard is None else f"its last frame at {heard:%H:%M:%S} UTC"
            return f"{meter_id}: a {meter.transport} meter sends when it is due and cannot be asked; {when}"
        reading = await self.coordinators[meter.bus].read_meter(meter)
        await self.on_reading(reading)
        if not reading.ok:
            assert reading.failure is not None
            return f"{meter_id}: no reading ({reading.failure.kind}): {reading.failure.detail}"
        register = reading.values.get(BILLING_REGISTER[meter.utility])
        values = len(reading.values)
        return f"{meter_id}: read {values} values at {reading.read_at:%H:%M:%S} UTC; register {register}"

    async def relay_test(self, meter_id: str) -> str:
        """Switch the relay away and back, each step journalled and confirmed by the meter."""
        return await self.relays.installer_test(self._meter(meter_id))

    def _meter(self, meter_id: str) -> MeterConfig:
        try:
            return self.billing.meters[meter_id].meter
        except KeyError:
            raise ValueError(f"no meter {meter_id!r} on this gateway") from None

    async def _start_web(self) -> asyncio.Task[None]:
        web = self.config.web
        app = create_web_app(
            self, installer_password_hash=web.installer_password_hash, session_secret=secrets.token_bytes(32)
        )
        self.web = WebServer(app, host=web.host, port=web.port)
        task = asyncio.create_task(self.web.serve(), name="local page")
        await self.web.started()
        log.info("local page on http://%s:%d/", web.host, self.web.port)
        return task

    async def on_reading(self, reading: MeterReading) -> None:
        """Every poll's outcome: health transitions journalled, good readings billed."""
        if reading.meter_id not in self.billing.meters:
            return  # read just before a new config removed the meter
        if reading.transition is not None:
            await self._journal_transition(reading)
        if not reading.ok:
            assert reading.failure is not None
            self.last_failure[reading.meter_id] = f"{reading.failure.kind}: {reading.failure.detail}"
            return
        self.last_failure.pop(reading.meter_id, None)
        meter = self.billing.meters[reading.meter_id].meter
        values: dict[Measurement, Decimal] = dict(reading.values)
        register = values.get(BILLING_REGISTER[meter.utility])
        if register is not None:
            self._note_register(meter.id, register, reading.read_at)
        # Shielded: a poller cancelled by a config switch must not stop a reading half-way, between
        # its relay command's commit and handing the command to the relay controller.
        await asyncio.shield(self.billing.on_reading(meter.id, values, reading.read_at, ReadingSource.MODBUS))

    def _note_register(self, meter_id: str, register: Decimal, read_at: datetime) -> None:
        """The meter's latest billing register, for the page (Modbus and radio alike)."""
        self.last_register[meter_id] = (register, read_at)

    async def _journal_transition(self, reading: MeterReading) -> None:
        transition = reading.transition
        assert transition is not None
        lost = transition.kind is TransitionKind.COMMUNICATION_LOST
        await journal_communication(self.journal, self.clock(), transition.meter_id, lost, transition.detail)

    async def _confirm_relays_at_start(self, meters: Sequence[MeterConfig]) -> None:
        """Read every relay once: credit control must start from what the meters say."""
        for meter in meters:
            if self._actuator_for(meter) is None:
                continue
            try:
                await self.relays.read_back(meter)
            except Exception as error:
                log.warning("meter %s: relay state unknown at start: %s", meter.id, error)

    async def _recheck_loop(self) -> None:
        """Re-apply credit control when a deferred decision falls due."""
        while True:
            due = self.billing.recheck_at
            wait_s = RECHECK_PERIOD_S if due is None else max(0.0, (due - self.clock()).total_seconds())
            await asyncio.sleep(min(wait_s, RECHECK_PERIOD_S))
            due = self.billing.recheck_at
            if due is not None and due <= self.clock():
                await self.billing.recheck()

    # --- building and rebuilding -------------------------------------------------------------

    def _stored_config(self, config: EdgeConfig) -> EdgeConfig:
        """``edge.toml`` merged with the cloud document applied last, if the store holds one."""
        document = stored_document(self.reader)
        if document is None or config.cloud is None:
            return config
        try:
            merged = config_from_document(config, document, self.registry)
        except ConfigError as error:
            # Profiles or buses changed on site since it was applied: run on edge.toml until the
            # cloud sends a document that fits, rather than not metering at all.
            log.error("the stored cloud config cannot be used (%s); running on %s", error, config.source)
            return config
        for meter_id, why in merged.unreachable.items():
            log.warning("meter %s from the cloud's config is not polled: %s", meter_id, why)
        return merged.config

    def _sync_client(self, key: GatewayKey) -> SyncClient:
        cloud = self.config.cloud
        assert cloud is not None
        transport = CloudTransport(cloud.url, self.config.gateway_id, key)
        interval_s, batch_entries = cloud.sync_interval_s, cloud.batch_entries
        return SyncClient(self, transport, interval_s=interval_s, batch_entries=batch_entries)

    def _coordinator(self, bus_id: str) -> BusCoordinator:
        meters = [m for m in self.config.meters if m.bus == bus_id]
        return BusCoordinator(self.config.bus(bus_id), meters, self.registry, wall_clock=self.clock)

    def _start_polling(self, bus_id: str) -> None:
        scheduler = PollScheduler(self.coordinators[bus_id], self.on_reading)
        self._pollers[bus_id] = asyncio.create_task(scheduler.run(), name=f"poll {bus_id}")

    async def _restart_polling(self, bus_id: str) -> None:
        """Replace one bus's coordinator (and its poller, once the agent runs) for its new meters."""
        poller = self._pollers.pop(bus_id, None)
        if poller is not None:
            await cancel_and_wait([poller])
        self.coordinators[bus_id].close()
        self.coordinators[bus_id] = self._coordinator(bus_id)
        if poller is not None:
            self._start_polling(bus_id)

    def _stored_state(self, meter_id: str) -> MeterBillingState:
        row = self.reader.execute("SELECT state FROM meter_state WHERE meter_id = ?", (meter_id,)).fetchone()
        return decode_state(None if row is None else row[0])

    def _actuator_for(self, meter: MeterConfig) -> RelayActuator | None:
        if meter.transport is not Transport.MODBUS:
            return self.radio.actuator_for(meter)
        if not self.registry.get(meter.profile).has_relay or meter.bus is None:
            return None
        return ModbusRelay(self.coordinators[meter.bus])

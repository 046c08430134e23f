"""The gateway agent: wires the store, buses, billing, relay control and the local page together.

``quantify-edge run --config edge.toml`` builds one :class:`GatewayAgent` and runs it until SIGTERM
or SIGINT. Every bus has one coordinator and one poll scheduler; every reading goes through the
billing service; communication lost and restored become alarm entries; a timer re-applies credit
control when a friendly-credit window that deferred a disconnection ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from edge_agent.adapters.modbus.coordinator import BusCoordinator
from edge_agent.adapters.modbus.health import TransitionKind
from edge_agent.adapters.modbus.readings import MeterReading
from edge_agent.adapters.modbus.scheduler import PollScheduler
from edge_agent.billing.service import BillingService
from edge_agent.config.model import EdgeConfig, MeterConfig
from edge_agent.relay.controller import RelayActuator, RelayController
from edge_agent.status import GatewayStatus
from edge_agent.status_report import StatusReporter
from edge_agent.store.database import open_database, open_reader
from edge_agent.store.journal import Journal
from edge_agent.store.statements import CLEAR_OPEN_ALARM, UPSERT_OPEN_ALARM
from edge_agent.web import WebServer, create_web_app
from firmware_profiles import ProfileRegistry, packaged_registry
from shared.journal import Alarm, AlarmKind, ReadingSource
from shared.quantities import BILLING_REGISTER, Measurement

log = logging.getLogger(__name__)

#: Longest sleep of the credit re-check timer, so a deferred decision is never late by more.
RECHECK_PERIOD_S = 30.0


def utc_now() -> datetime:
    return datetime.now(UTC)


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
        self.config = config
        self.registry = registry or packaged_registry()
        self.clock = clock
        self.db = open_database(config.store_path)
        self.reader = open_reader(config.store_path)
        self.journal = Journal(
            self.db, max_rows=config.journal.group_max_rows, max_wait_ms=config.journal.group_max_wait_ms
        )
        self.coordinators = {
            bus.id: BusCoordinator(
                bus, [m for m in config.meters if m.bus == bus.id], self.registry, wall_clock=clock
            )
            for bus in config.buses
        }
        self.relays = RelayController(self.journal, self.reader, self._actuator_for, clock)
        self.billing = BillingService(
            config, self.journal, reader=self.reader, registry=self.registry, relays=self.relays, clock=clock
        )
        self.last_register: dict[str, tuple[Decimal, datetime]] = {}
        self.reporter = StatusReporter(self)
        self.web: WebServer | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Poll, bill and control until ``stop`` is set; then shut down cleanly."""
        await self._confirm_relays_at_start()
        tasks = [
            asyncio.create_task(PollScheduler(coordinator, self.on_reading).run(), name=f"poll {bus_id}")
            for bus_id, coordinator in self.coordinators.items()
        ]
        tasks.append(asyncio.create_task(self._recheck_loop(), name="credit recheck"))
        tasks.append(await self._start_web())
        log.info("gateway %s running: %d meters on %d buses", self.config.gateway_id,
                 len(self.config.meters), len(self.coordinators))  # fmt: skip
        try:
            await stop.wait()
        finally:
            await self.shutdown(tasks)

    async def shutdown(self, tasks: list[asyncio.Task[None]]) -> None:
        if self.web is not None:
            self.web.stop()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.relays.close()
        for coordinator in self.coordinators.values():
            coordinator.close()
        self.journal.close()
        self.reader.conn.close()
        log.info("gateway %s stopped; journal head seq %d", self.config.gateway_id, self.journal.head.seq)

    # --- the local page's view of the agent (edge_agent.web.GatewayControl) -------------------

    def status(self) -> GatewayStatus:
        """What the page and /api/status show."""
        return self.reporter.snapshot()

    async def read_meter_now(self, meter_id: str) -> str:
        """Read one meter at once, through the same pipeline as a scheduled poll."""
        meter = self._meter(meter_id)
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
        if reading.transition is not None:
            await self._journal_transition(reading)
        if not reading.ok:
            return
        meter = self.billing.meters[reading.meter_id].meter
        values: dict[Measurement, Decimal] = dict(reading.values)
        register = values.get(BILLING_REGISTER[meter.utility])
        if register is not None:
            self.last_register[meter.id] = (register, reading.read_at)
        await self.billing.on_reading(meter.id, values, reading.read_at, ReadingSource.MODBUS)

    async def _journal_transition(self, reading: MeterReading) -> None:
        transition = reading.transition
        assert transition is not None
        lost = transition.kind is TransitionKind.COMMUNICATION_LOST
        kind = AlarmKind.COMMUNICATION_LOST if lost else AlarmKind.COMMUNICATION_RESTORED
        with self.journal.transaction(self.clock()) as txn:
            entry = txn.append(
                Alarm(meter_id=transition.meter_id, kind=kind, detail=transition.detail[:1000])
            )
            if lost:
                txn.execute(
                    UPSERT_OPEN_ALARM, (transition.meter_id, kind.value, transition.detail[:1000], entry.seq)
                )
            else:
                txn.execute(CLEAR_OPEN_ALARM, (transition.meter_id, AlarmKind.COMMUNICATION_LOST.value))
        await txn.committed()
        log.warning("meter %s: %s (%s)", transition.meter_id, kind.value, transition.detail)

    async def _confirm_relays_at_start(self) -> None:
        """Read every relay once: credit control must start from what the meters say."""
        for meter in self.config.meters:
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

    def _actuator_for(self, meter: MeterConfig) -> RelayActuator | None:
        if not self.registry.get(meter.profile).has_relay:
            return None
        return ModbusRelay(self.coordinators[meter.bus])

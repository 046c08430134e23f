"""One coordinator per Modbus bus: it owns every request on that bus.

In the manner of Home Assistant's modbus hub: the daemon never touches pymodbus; it asks the
coordinator for a meter's reading or to switch a relay, and the coordinator

- puts one request on the wire at a time (an asyncio lock, always released);
- keeps the quiet time the meters need between requests, measured from the end of the previous
  transaction on the bus (the larger of the two meters' ``request_spacing_ms``);
- bounds each request by the meter's response timeout (the bus config may override it), and
  retries timeouts and corrupt answers a bounded number of times with backoff, off the lock, so
  a meter that answers garbage or nothing costs the others at most its own timeouts;
- reads each meter with the fewest requests (``firmware_profiles.plan_reads``) and decodes the
  answers into our vocabulary, exactly;
- tracks each meter's communication health and reports its transitions.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import TypeVar

from edge_agent.adapters.modbus.errors import (
    BusError,
    BusTimeout,
    BusUnavailable,
    CorruptAnswer,
    ExceptionAnswer,
)
from edge_agent.adapters.modbus.health import HealthPolicy, MeterHealth, record_failure, record_success
from edge_agent.adapters.modbus.link import ModbusLink, ReconnectPolicy
from edge_agent.adapters.modbus.readings import MeterReading, ReadFailure
from edge_agent.config.model import BusConfig, MeterConfig
from firmware_profiles import (
    DecodeError,
    PlannedRead,
    Profile,
    ProfileRegistry,
    decode_read,
    decode_relay_state,
    encode_relay_command,
    plan_reads,
    relay_state_read,
)
from shared.quantities import Measurement

T = TypeVar("T")
_BACKSTOP_MARGIN_S = 1.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Backoff between attempts of one request: doubling from ``first_s``, at most ``max_s``."""

    first_s: float = 0.05
    max_s: float = 1.0

    def delay_s(self, attempt: int) -> float:
        """The wait before attempt ``attempt + 1`` (``attempt`` counts from 0)."""
        return float(min(self.max_s, self.first_s * 2**attempt))


@dataclass(frozen=True, slots=True)
class MeterPlan:
    """Everything the coordinator works out once per meter."""

    meter: MeterConfig
    #: The meter's Modbus unit address (a ``MeterConfig`` of a radio meter has none).
    unit: int
    profile: Profile
    reads: tuple[PlannedRead, ...]
    timeout_s: float
    spacing_s: float


class BusCoordinator:
    """Owns all I/O on one Modbus bus (RTU over a serial line, or Modbus TCP)."""

    def __init__(
        self,
        bus: BusConfig,
        meters: Iterable[MeterConfig],
        registry: ProfileRegistry,
        *,
        wanted: Iterable[Measurement] | None = None,
        health_policy: HealthPolicy | None = None,
        retry_policy: RetryPolicy | None = None,
        reconnect_policy: ReconnectPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.bus = bus
        wanted_set = None if wanted is None else frozenset(wanted)
        self._plans = {m.id: _plan(bus, m, registry.get(m.profile), wanted_set) for m in meters}
        self._health = {meter_id: MeterHealth(meter_id) for meter_id in self._plans}
        self._health_policy = health_policy or HealthPolicy()
        self._retry = retry_policy or RetryPolicy()
        backstop_s = max((p.timeout_s for p in self._plans.values()), default=1.0) + _BACKSTOP_MARGIN_S
        self._link = ModbusLink(bus, backstop_timeout_s=backstop_s, policy=reconnect_policy, clock=clock)
        self._clock = clock
        self._wall_clock = wall_clock
        self._lock = asyncio.Lock()
        self._last_end_s = float("-inf")
        self._last_spacing_s = 0.0

    @property
    def meters(self) -> tuple[MeterConfig, ...]:
        """The meters on this bus, in configuration order."""
        return tuple(plan.meter for plan in self._plans.values())

    @property
    def connected(self) -> bool:
        """Whether the bus connection is open right now (it is opened on demand)."""
        return self._link.connected

    def plan(self, meter: MeterConfig | str) -> MeterPlan:
        """The meter's profile, planned reads, timeout and spacing."""
        meter_id = meter if isinstance(meter, str) else meter.id
        try:
            return self._plans[meter_id]
        except KeyError:
            raise ValueError(f"meter {meter_id} is not on bus {self.bus.id}") from None

    def health(self, meter: MeterConfig | str) -> MeterHealth:
        """The meter's communication health as of its last read."""
        return self._health[self.plan(meter).meter.id]

    async def read_meter(self, meter: MeterConfig | str) -> MeterReading:
        """Read every planned register of the meter; a failure is returned, never raised."""
        plan = self.plan(meter)
        # A meter already declared lost gets one attempt per poll: retries would only take bus
        # time from the meters that do answer.
        attempts = 1 if self._health[plan.meter.id].lost else 1 + self.bus.retries
        values: dict[Measurement, Decimal] = {}
        try:
            for read in plan.reads:
                request = partial(
                    self._link.read,
                    plan.unit,
                    read.function_code,
                    read.address,
                    read.count,
                    plan.timeout_s,
                )
                words = await self._attempts(plan, attempts, request)
                values.update(decode_read(read, words))
        except BusError as error:
            code = error.code if isinstance(error, ExceptionAnswer) else None
            return self._failed(plan, ReadFailure(error.kind, str(error), code))
        except DecodeError as error:
            return self._failed(plan, ReadFailure(CorruptAnswer.kind, f"bus {self.bus.id}: {error}"))
        return self._succeeded(plan, values)

    async def write_relay(self, meter: MeterConfig | str, closed: bool) -> None:
        """Send the relay command (closed: supply on); raises :class:`BusError` if it fails.

        Success means the meter acknowledged the write, not that the relay moved: the caller
        confirms with :meth:`read_relay`. Raises ``UnsupportedMeasurementError`` for a model
        without a relay.
        """
        plan = self.plan(meter)
        command = encode_relay_command(plan.profile, closed=closed)
        request = partial(
            self._link.write,
            plan.unit,
            command.function_code,
            command.address,
            command.values,
            plan.timeout_s,
        )
        await self._attempts(plan, 1 + self.bus.retries, request)

    async def read_relay(self, meter: MeterConfig | str) -> bool:
        """Whether the meter says its relay is closed; raises :class:`BusError` if it cannot tell."""
        plan = self.plan(meter)
        read = relay_state_read(plan.profile)
        request = partial(
            self._link.read, plan.unit, read.function_code, read.address, read.count, plan.timeout_s
        )
        words = await self._attempts(plan, 1 + self.bus.retries, request)
        try:
            return decode_relay_state(plan.profile, words)
        except DecodeError as error:
            raise CorruptAnswer(f"bus {self.bus.id}: {error}") from None

    def close(self) -> None:
        """Close the bus connection (the next request would reopen it)."""
        self._link.close()

    async def _attempts(self, plan: MeterPlan, attempts: int, request: Callable[[], Awaitable[T]]) -> T:
        for attempt in range(attempts):
            try:
                return await self._exchange(plan, request)
            except (BusTimeout, CorruptAnswer):
                # Line noise and a busy meter are transient; an exception answer or a missing
                # bus is not, and retrying those would only delay the other meters.
                if attempt + 1 >= attempts:
                    raise
            await asyncio.sleep(self._retry.delay_s(attempt))
        raise AssertionError("attempts must be at least 1")

    async def _exchange(self, plan: MeterPlan, request: Callable[[], Awaitable[T]]) -> T:
        async with self._lock:
            spacing_s = max(self._last_spacing_s, plan.spacing_s)
            wait_s = self._last_end_s + spacing_s - self._clock()
            if wait_s > 0:
                await asyncio.sleep(wait_s)
            on_the_wire = True
            try:
                return await request()
            except BusUnavailable:
                # Nothing was sent (or the bus vanished): no quiet time is owed to the meters,
                # and reads of a missing bus fail at once rather than one spacing apart.
                on_the_wire = False
                raise
            finally:
                if on_the_wire:
                    self._last_end_s = self._clock()
                    self._last_spacing_s = plan.spacing_s

    def _succeeded(self, plan: MeterPlan, values: dict[Measurement, Decimal]) -> MeterReading:
        at = self._wall_clock()
        health, transition = record_success(self._health[plan.meter.id], at, self._health_policy)
        self._health[plan.meter.id] = health
        return MeterReading(plan.meter.id, at, values, None, transition)

    def _failed(self, plan: MeterPlan, failure: ReadFailure) -> MeterReading:
        at = self._wall_clock()
        health, transition = record_failure(
            self._health[plan.meter.id], at, failure.kind, failure.detail, self._health_policy
        )
        self._health[plan.meter.id] = health
        return MeterReading(plan.meter.id, at, {}, failure, transition)


def _plan(
    bus: BusConfig, meter: MeterConfig, profile: Profile, wanted: frozenset[Measurement] | None
) -> MeterPlan:
    if meter.bus != bus.id:
        raise ValueError(f"meter {meter.id} is on bus {meter.bus}, not {bus.id}")
    if meter.address is None or not 1 <= meter.address <= 247:
        raise ValueError(f"meter {meter.id}: unit address {meter.address} is outside Modbus' 1–247")
    measurements: Sequence[Measurement] | None = None
    if wanted is not None:
        # Always the billing register; of the rest, what this model provides.
        measurements = [m for m in profile.measurements if m in wanted or m == profile.billing.measurement]
    timeout_ms = bus.timeout_ms or profile.modbus.response_timeout_ms
    return MeterPlan(
        meter=meter,
        unit=meter.address,
        profile=profile,
        reads=plan_reads(profile, measurements),
        timeout_s=timeout_ms / 1000,
        spacing_s=profile.modbus.request_spacing_ms / 1000,
    )

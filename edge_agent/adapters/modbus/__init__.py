"""Modbus (RTU over RS485, and TCP): one coordinator per bus owns all of that bus's I/O.

The daemon builds one :class:`BusCoordinator` per configured bus and runs one
:class:`PollScheduler` on it::

    coordinator = BusCoordinator(bus, meters_on_bus, packaged_registry())
    scheduler = PollScheduler(coordinator, on_reading)   # async on_reading(MeterReading)
    task = asyncio.create_task(scheduler.run())
    ...
    await coordinator.write_relay(meter, closed=False)   # then believe only:
    closed = await coordinator.read_relay(meter)

Readings carry exact ``Decimal`` values in our vocabulary, or a :class:`ReadFailure`, and the
health transition ("communication lost"/"restored") the poll caused, for the journal.
"""

from edge_agent.adapters.modbus.coordinator import BusCoordinator, MeterPlan, RetryPolicy
from edge_agent.adapters.modbus.errors import (
    BusError,
    BusTimeout,
    BusUnavailable,
    CorruptAnswer,
    ExceptionAnswer,
    FailureKind,
)
from edge_agent.adapters.modbus.health import HealthPolicy, HealthTransition, MeterHealth, TransitionKind
from edge_agent.adapters.modbus.link import ReconnectPolicy
from edge_agent.adapters.modbus.readings import MeterReading, ReadFailure
from edge_agent.adapters.modbus.scheduler import PollScheduler, ScheduleStats

__all__ = [
    "BusCoordinator",
    "BusError",
    "BusTimeout",
    "BusUnavailable",
    "CorruptAnswer",
    "ExceptionAnswer",
    "FailureKind",
    "HealthPolicy",
    "HealthTransition",
    "MeterHealth",
    "MeterPlan",
    "MeterReading",
    "PollScheduler",
    "ReadFailure",
    "ReconnectPolicy",
    "RetryPolicy",
    "ScheduleStats",
    "TransitionKind",
]

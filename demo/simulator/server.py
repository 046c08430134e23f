"""Run simulated meters on a Modbus bus: pymodbus servers over TCP and over a serial line (RTU).

:class:`MeterSimulator` owns the meters' state and any number of endpoints serving it, all in the
caller's asyncio loop. It records every request it receives (bounded), so tests can check from
the meters' side how a client paces the bus.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from pymodbus.constants import ExcCodes
from pymodbus.framer import FramerType
from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusBaseServer, ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import SimDevice

from demo.simulator.devices import Behaviour, BusFront, UnitBehaviour, sim_device
from demo.simulator.frames import corrupting_tracer
from demo.simulator.model import LoadShape, SimClock, SimulatedMeter
from shared.quantities import Measurement

#: Requests remembered for inspection; older ones are dropped.
REQUEST_LOG_MAX = 10_000
_PARITY = {"none": "N", "even": "E", "odd": "O", "N": "N", "E": "E", "O": "O"}


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request as the simulated bus saw it, with monotonic times in seconds."""

    unit: int
    function_code: int
    address: int
    count: int
    received_s: float
    answered_s: float | None


class MeterSimulator:
    """Simulated meters sharing one bus, served over TCP and/or a serial port."""

    def __init__(self, meters: Iterable[SimulatedMeter], clock: SimClock | None = None) -> None:
        self.clock = clock or SimClock()
        self._meters = {meter.unit: meter for meter in meters}
        self._behaviours: dict[int, UnitBehaviour] = {}
        self._servers: list[ModbusBaseServer] = []
        self._requests: deque[_Exchange] = deque(maxlen=REQUEST_LOG_MAX)

    @property
    def units(self) -> tuple[int, ...]:
        """The unit addresses served."""
        return tuple(sorted(self._meters))

    def meter(self, unit: int) -> SimulatedMeter:
        """The simulated meter at ``unit``."""
        return self._meters[unit]

    async def start_tcp(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Serve Modbus TCP on ``host:port`` (0: any free port); returns the port."""
        devices = self._devices()
        server = ModbusTcpServer(
            devices,
            address=(host, port),
            ignore_missing_devices=True,
            trace_packet=corrupting_tracer(rtu=False, corrupt_units=self._corrupt_units),
            trace_pdu=self._trace_pdu,
        )
        await self._serve(server, devices)
        sockets = server.transport.sockets  # type: ignore[attr-defined]
        return int(sockets[0].getsockname()[1])

    async def start_serial(
        self, port: str, *, baud: int = 9600, parity: str = "N", stop_bits: int = 1
    ) -> None:
        """Serve Modbus RTU (with CRC) on the serial device ``port`` (a pty in tests and demos)."""
        devices = self._devices()
        server = ModbusSerialServer(
            devices,
            framer=FramerType.RTU,
            port=port,
            baudrate=baud,
            parity=_PARITY[parity],
            stopbits=stop_bits,
            bytesize=8,
            ignore_missing_devices=True,
            trace_packet=corrupting_tracer(rtu=True, corrupt_units=self._corrupt_units),
            trace_pdu=self._trace_pdu,
        )
        await self._serve(server, devices)

    async def stop(self) -> None:
        """Stop every endpoint; the meters keep their state for a later start."""
        servers, self._servers = self._servers, []
        for server in servers:
            await server.shutdown()  # type: ignore[no-untyped-call]
        # Let the transports' close callbacks run, so ports and ptys are free on return.
        await asyncio.sleep(0)

    def set_load(self, unit: int, watts: Decimal, shape: LoadShape | None = None) -> None:
        """Change a meter's nominal load (and optionally its daily shape) from now on."""
        self._meters[unit].set_load(self.clock.now(), watts, shape)

    def relay_closed(self, unit: int) -> bool:
        """Whether the meter's relay is closed (supply on)."""
        return self._meters[unit].relay_closed

    def values(self, unit: int) -> dict[Measurement, Decimal]:
        """What the meter shows right now, exactly, before its registers' own rounding."""
        return self._meters[unit].values(self.clock.now())

    def misbehave(
        self, unit: int, behaviour: Behaviour | str, exception_code: int = ExcCodes.DEVICE_FAILURE
    ) -> None:
        """Make ``unit`` answer exceptions, stay silent, send corrupt frames, or behave again.

        Raises ``ValueError`` for an unknown behaviour or an exception code Modbus does not define,
        here rather than in the middle of a request.
        """
        self._behaviours[unit] = UnitBehaviour(Behaviour(behaviour), ExcCodes(exception_code))

    def requests(self) -> tuple[RequestRecord, ...]:
        """The requests received so far (the most recent ``REQUEST_LOG_MAX``), oldest first."""
        return tuple(
            RequestRecord(r.unit, r.function_code, r.address, r.count, r.received_s, r.answered_s)
            for r in self._requests
        )

    def clear_requests(self) -> None:
        """Forget the requests received so far."""
        self._requests.clear()

    def _devices(self) -> list[SimDevice]:
        return [sim_device(meter, self.clock.now) for meter in self._meters.values()]

    async def _serve(self, server: ModbusBaseServer, devices: list[SimDevice]) -> None:
        # Misbehaviour and absent units are decided in front of pymodbus' datastore (see BusFront).
        server.context = BusFront(devices, self._behaviours)  # type: ignore[assignment]
        await server.serve_forever(background=True)
        self._servers.append(server)

    def _corrupt_units(self) -> frozenset[int]:
        return frozenset(u for u, b in self._behaviours.items() if b.behaviour is Behaviour.CORRUPT)

    def _trace_pdu(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        now = time.monotonic()
        if not sending:
            self._requests.append(_Exchange(pdu.dev_id, pdu.function_code, pdu.address, pdu.count, now))
            return pdu
        for exchange in reversed(self._requests):
            if exchange.unit == pdu.dev_id and exchange.answered_s is None:
                exchange.answered_s = now
                break
        return pdu


@dataclass(slots=True)
class _Exchange:
    """A request being logged; its answer time is filled in when the answer is sent."""

    unit: int
    function_code: int
    address: int
    count: int
    received_s: float
    answered_s: float | None = None

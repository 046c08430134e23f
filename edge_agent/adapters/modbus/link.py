"""One Modbus connection (a serial line with RTU framing, or Modbus TCP) that heals itself.

:class:`ModbusLink` wraps a pymodbus async client: it bounds every transaction by a timeout,
checks each answer against its request, turns every library and OS error into a
:class:`~edge_agent.adapters.modbus.errors.BusError`, and reconnects on demand with bounded
exponential backoff, so a bus that was gone for hours comes back without a restart and without
a busy loop. It does no locking or pacing: the coordinator owns that.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.framer import FramerType
from pymodbus.pdu import ModbusPDU

from edge_agent.adapters.modbus.errors import BusTimeout, BusUnavailable, CorruptAnswer, ExceptionAnswer
from edge_agent.config.model import BusConfig, BusKind

log = logging.getLogger(__name__)

_Client = AsyncModbusSerialClient | AsyncModbusTcpClient
_READS = {0x03: "read_holding_registers", 0x04: "read_input_registers"}


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """How the link reconnects, and when it decides an open connection is dead."""

    first_delay_s: float = 0.5
    max_delay_s: float = 30.0
    connect_timeout_s: float = 3.0
    #: Transactions in a row without a single byte answered before the connection is reopened:
    #: a TCP peer that lost power leaves a half-open socket, a re-enumerated USB adapter a stale fd.
    silent_transactions_max: int = 5


class ModbusLink:
    """The connection to one bus, opened lazily and reopened after it breaks."""

    def __init__(
        self,
        bus: BusConfig,
        *,
        backstop_timeout_s: float,
        policy: ReconnectPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if bus.kind is BusKind.RTU and bus.serial is None:
            raise ValueError(f"bus {bus.id}: an RTU bus needs a serial line")
        if bus.kind is BusKind.TCP and (bus.host is None or bus.port is None):
            raise ValueError(f"bus {bus.id}: a TCP bus needs host and port")
        self.bus = bus
        self.policy = policy or ReconnectPolicy()
        # pymodbus' own response timeout only backs ours up; ours is per request and shorter.
        self._backstop_timeout_s = backstop_timeout_s
        self._clock = clock
        self._client: _Client | None = None
        self._delay_s = 0.0
        self._next_connect_s = 0.0
        self._last_connect_error = ""
        self._answered_bytes = False
        self._silent_transactions = 0

    @property
    def connected(self) -> bool:
        """Whether a connection is open right now."""
        return self._client is not None and self._client.connected

    async def read(
        self, unit: int, function_code: int, address: int, count: int, timeout_s: float
    ) -> list[int]:
        """Read ``count`` registers with function 0x03 or 0x04; the words answered."""
        what = f"bus {self.bus.id} unit {unit}: read 0x{function_code:02X} of {count} at 0x{address:04X}"
        method = _READS[function_code]

        def request(client: _Client) -> Awaitable[ModbusPDU]:
            return getattr(client, method)(address, count=count, device_id=unit)  # type: ignore[no-any-return]

        answer = await self._transact(request, timeout_s, what)
        if answer.function_code != function_code or len(answer.registers) != count:
            raise CorruptAnswer(
                f"{what}: answered function 0x{answer.function_code:02X} with "
                f"{len(answer.registers)} registers"
            )
        return list(answer.registers)

    async def write(
        self, unit: int, function_code: int, address: int, values: Sequence[int], timeout_s: float
    ) -> None:
        """Write registers with function 0x10 (several) or 0x06 (one); returns once echoed back."""
        what = f"bus {self.bus.id} unit {unit}: write 0x{function_code:02X} {list(values)} at 0x{address:04X}"

        def request(client: _Client) -> Awaitable[ModbusPDU]:
            if function_code == 0x06:
                return client.write_register(address, values[0], device_id=unit)
            return client.write_registers(address, list(values), device_id=unit)

        answer = await self._transact(request, timeout_s, what)
        if answer.function_code != function_code or answer.address != address:
            raise CorruptAnswer(
                f"{what}: echoed function 0x{answer.function_code:02X} at 0x{answer.address:04X}"
            )

    def close(self) -> None:
        """Close the connection; the next transaction reopens it."""
        client, self._client = self._client, None
        if client is not None:
            client.close()

    async def _transact(
        self, request: Callable[[_Client], Awaitable[ModbusPDU]], timeout_s: float, what: str
    ) -> ModbusPDU:
        client = await self._connected_client()
        self._answered_bytes = False
        try:
            async with asyncio.timeout(timeout_s):
                answer = await request(client)
        except TimeoutError:
            raise self._silence(what, timeout_s) from None
        except (ConnectionException, OSError) as error:
            self.close()
            raise BusUnavailable(f"{what}: connection lost ({error})") from None
        except ModbusIOException as error:
            # pymodbus' own timeout (a backstop), or an answer from another unit.
            raise CorruptAnswer(f"{what}: {error}") from None
        except ModbusException as error:
            raise CorruptAnswer(f"{what}: {error}") from None
        self._silent_transactions = 0
        if answer.isError():
            code = int(getattr(answer, "exception_code", 0))
            raise ExceptionAnswer(f"{what}: answered exception code 0x{code:02X}", code)
        return answer

    def _silence(self, what: str, timeout_s: float) -> BusTimeout | CorruptAnswer:
        waited = f"within {timeout_s * 1000:.0f} ms"
        if self._answered_bytes:
            # Bytes arrived but pymodbus' framer threw them away: a bad CRC or a garbled frame.
            self._silent_transactions = 0
            return CorruptAnswer(f"{what}: answered bytes that were not a valid frame {waited}")
        self._silent_transactions += 1
        if self._silent_transactions >= self.policy.silent_transactions_max:
            log.warning(
                "bus %s: %d requests in a row unanswered; reopening the connection",
                self.bus.id,
                self._silent_transactions,
            )
            self._silent_transactions = 0
            self.close()
        return BusTimeout(f"{what}: no answer {waited}")

    async def _connected_client(self) -> _Client:
        if self._client is not None and self._client.connected:
            return self._client
        self.close()
        now = self._clock()
        if now < self._next_connect_s:
            wait_s = self._next_connect_s - now
            raise BusUnavailable(
                f"bus {self.bus.id}: {self._last_connect_error}; next attempt in {wait_s:.1f} s"
            )
        client = self._new_client()
        try:
            async with asyncio.timeout(self.policy.connect_timeout_s):
                connected = await client.connect()
        except TimeoutError:
            connected = False
        if not connected:
            client.close()
            self._delay_s = min(self.policy.max_delay_s, max(self.policy.first_delay_s, self._delay_s * 2))
            self._next_connect_s = now + self._delay_s
            self._last_connect_error = f"cannot open {self._endpoint()}"
            raise BusUnavailable(
                f"bus {self.bus.id}: {self._last_connect_error}; retrying in {self._delay_s:.1f} s"
            )
        self._delay_s = 0.0
        self._client = client
        return client

    def _new_client(self) -> _Client:
        common = {
            "name": f"bus {self.bus.id}",
            "timeout": self._backstop_timeout_s,
            "retries": 0,  # the coordinator retries, with its own spacing and backoff
            "reconnect_delay": 0,  # and reconnects on demand: no background reconnect loop
            "trace_packet": self._trace_packet,
        }
        if self.bus.kind is BusKind.TCP:
            assert self.bus.host is not None and self.bus.port is not None
            return AsyncModbusTcpClient(self.bus.host, port=self.bus.port, **common)  # type: ignore[arg-type]
        line = self.bus.serial
        assert line is not None
        return AsyncModbusSerialClient(
            line.port,
            framer=FramerType.RTU,
            baudrate=line.baud,
            bytesize=line.byte_size,
            parity=str(line.parity),
            stopbits=line.stop_bits,
            **common,  # type: ignore[arg-type]
        )

    def _endpoint(self) -> str:
        if self.bus.kind is BusKind.TCP:
            return f"Modbus TCP {self.bus.host}:{self.bus.port}"
        assert self.bus.serial is not None
        return f"serial port {self.bus.serial.port}"

    def _trace_packet(self, sending: bool, packet: bytes) -> bytes:
        # Seen before pymodbus' framer: tells a garbled answer (bytes, no frame) from silence.
        if not sending and packet:
            self._answered_bytes = True
        return packet

"""pymodbus devices for simulated meters, and what stands in front of them to misbehave.

Each :class:`~demo.simulator.model.SimulatedMeter` becomes a pymodbus ``SimDevice`` whose register
blocks follow the meter's profile (input or holding table, unmapped addresses answering "illegal
address", everything but the relay read-only). Its action refreshes the words from the meter's
state on every access and applies relay writes. :class:`BusFront` sits between the server and
those devices to make a unit stay silent or answer an exception code, and to keep silent any
unit address nobody configured — as an absent meter on RS485 does.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from pymodbus.constants import ExcCodes
from pymodbus.exceptions import NoSuchIdException
from pymodbus.simulator import DataType, SimData, SimDevice
from pymodbus.simulator.simcore import SimCore

from demo.simulator.model import SimulatedMeter
from demo.simulator.registers import layout_for, words_for
from firmware_profiles import RegisterTable

_HOLDING_FUNCTIONS = frozenset({0x03, 0x06, 0x10, 0x16, 0x17})
_WRITE_FUNCTIONS = frozenset({0x06, 0x10})


class Behaviour(enum.StrEnum):
    """How a unit address answers."""

    NORMAL = "normal"
    EXCEPTION = "exception"  # answers every request with an exception code
    SILENT = "silent"  # never answers
    CORRUPT = "corrupt"  # answers with a damaged frame (see demo.simulator.frames)


@dataclass(frozen=True, slots=True)
class UnitBehaviour:
    """A unit's behaviour, with the exception code it answers in ``EXCEPTION`` mode."""

    behaviour: Behaviour = Behaviour.NORMAL
    exception_code: int = ExcCodes.DEVICE_FAILURE


def sim_device(meter: SimulatedMeter, now: Callable[[], datetime]) -> SimDevice:
    """A pymodbus device serving ``meter``'s registers, refreshed from its state on each access."""
    layout = layout_for(meter.profile)
    tables = {
        table: _blocks(addresses, layout.relay_address) for table, addresses in layout.addresses.items()
    }
    # pymodbus wants at least one block per table: coils and discrete inputs hold one unused bit.
    bits = [SimData(0, values=False, datatype=DataType.BITS)]
    simdata = (bits, list(bits), tables[RegisterTable.HOLDING], tables[RegisterTable.INPUT])
    return SimDevice(meter.unit, simdata=simdata, action=partial(_access, meter, now))


def _blocks(addresses: Sequence[int], relay_address: int | None) -> list[SimData]:
    if not addresses:
        return [SimData(0, datatype=DataType.INVALID)]
    blocks: list[SimData] = []
    run_start = previous = addresses[0]
    for address in (*addresses[1:], None):
        # A run ends at a gap and around the relay register, the only writable one.
        if address is not None and address == previous + 1 and relay_address not in (address, previous):
            previous = address
            continue
        count = previous - run_start + 1
        writable = run_start == relay_address
        blocks.append(
            SimData(run_start, values=[0] * count, datatype=DataType.REGISTERS, readonly=not writable)
        )
        if address is not None:
            run_start = previous = address
    return blocks


async def _access(  # noqa: PLR0917 - pymodbus calls a device action with positional arguments
    meter: SimulatedMeter,
    now: Callable[[], datetime],
    function_code: int,
    start_address: int,
    address: int,
    count: int,
    registers: list[int],
    set_values: list[int] | list[bool] | None,
) -> ExcCodes | None:
    """pymodbus' device action: apply a relay write, then show the meter's current words."""
    at = now()
    if set_values is not None and function_code in _WRITE_FUNCTIONS:
        refusal = _write_relay(meter, at, function_code, address, [int(v) for v in set_values])
        if refusal is not None:
            return refusal
    table = RegisterTable.HOLDING if function_code in _HOLDING_FUNCTIONS else RegisterTable.INPUT
    words = words_for(meter.profile, meter.values(at), meter.relay_closed)[table]
    for word_address, word in words.items():
        index = word_address - start_address
        if 0 <= index < len(registers):
            registers[index] = word
    return None


def _write_relay(
    meter: SimulatedMeter, at: datetime, function_code: int, address: int, values: list[int]
) -> ExcCodes | None:
    relay = meter.profile.modbus.relay
    if relay is None or not address <= relay.address < address + len(values):
        return ExcCodes.ILLEGAL_ADDRESS
    if function_code != relay.write_function:
        # The DDS238-2 does not understand 0x06, only 0x10 (its profile's source [F]).
        return ExcCodes.ILLEGAL_FUNCTION
    value = values[relay.address - address]
    if value not in (relay.closed_value, relay.open_value):
        return ExcCodes.ILLEGAL_VALUE
    meter.set_relay(at, value == relay.closed_value)
    return None


class BusFront:
    """The datastore pymodbus' server talks to: misbehaviour first, then the simulated devices.

    pymodbus validates addresses before it calls a device's action, so silence and exception
    codes are decided here, in front of its ``SimCore``, to apply to every request of the unit.
    Raising ``NoSuchIdException`` with ``ignore_missing_devices`` makes the server send nothing.
    """

    def __init__(self, devices: list[SimDevice], behaviours: dict[int, UnitBehaviour]) -> None:
        self._core = SimCore(devices)
        self._units = frozenset(device.id for device in devices)
        self._behaviours = behaviours

    async def async_getValues(
        self, device_id: int, func_code: int, address: int, count: int = 1
    ) -> list[int] | list[bool] | ExcCodes:
        """Answer a read, unless the unit is absent, silent or answering exceptions."""
        refusal = self._refusal(device_id)
        if refusal is not None:
            return refusal
        return await self._core.async_getValues(device_id, func_code, address, count)

    async def async_setValues(
        self, device_id: int, func_code: int, address: int, values: list[int] | list[bool]
    ) -> ExcCodes | None:
        """Apply a write, unless the unit is absent, silent or answering exceptions."""
        refusal = self._refusal(device_id)
        if refusal is not None:
            return refusal
        return await self._core.async_setValues(device_id, func_code, address, values)

    def _refusal(self, device_id: int) -> ExcCodes | None:
        behaviour = self._behaviours.get(device_id, UnitBehaviour())
        if device_id not in self._units or behaviour.behaviour is Behaviour.SILENT:
            raise NoSuchIdException(f"unit {device_id} does not answer")
        if behaviour.behaviour is Behaviour.EXCEPTION:
            return ExcCodes(behaviour.exception_code)
        return None

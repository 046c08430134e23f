"""Switch a meter's relay and read its state back, as pure Modbus request/answer transforms.

A relay is never assumed switched: the gateway writes the command, then reads the state register
and believes only what :func:`decode_relay_state` says. A state value that is neither the open
nor the closed value is a :class:`DecodeError`, not a guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from firmware_profiles.errors import DecodeError, UnsupportedMeasurementError
from firmware_profiles.modbus.reads import PlannedRead
from firmware_profiles.profile import Profile
from firmware_profiles.schema import ModbusRelaySpec


@dataclass(frozen=True, slots=True)
class RelayCommand:
    """One Modbus write that switches the relay."""

    function_code: int
    address: int
    values: tuple[int, ...]


def encode_relay_command(profile: Profile, *, closed: bool) -> RelayCommand:
    """The write that closes (supply on) or opens (supply off) the meter's relay."""
    relay = _relay(profile)
    value = relay.closed_value if closed else relay.open_value
    # 0x06 writes one register and 0x10 writes a run of them; the payload is one word either way.
    return RelayCommand(function_code=relay.write_function, address=relay.address, values=(value,))


def relay_state_read(profile: Profile) -> PlannedRead:
    """The one-register read that reports the relay's state; decode it with :func:`decode_relay_state`."""
    relay = _relay(profile)
    return PlannedRead(
        model_id=profile.model_id, table=relay.state_table, address=relay.state_address, count=1, fields=()
    )


def decode_relay_state(profile: Profile, registers: Sequence[int]) -> bool:
    """Whether the relay is closed, from the registers answered for :func:`relay_state_read`."""
    relay = _relay(profile)
    where = f"{profile.model_id}: relay state at {relay.state_table} register 0x{relay.state_address:04X}"
    if len(registers) != 1:
        raise DecodeError(f"{where}: expected 1 register, got {len(registers)}")
    value = registers[0]
    if value == relay.closed_value:
        return True
    if value == relay.open_value:
        return False
    raise DecodeError(
        f"{where}: value {value!r} is neither closed ({relay.closed_value}) nor open ({relay.open_value})"
    )


def _relay(profile: Profile) -> ModbusRelaySpec:
    if profile.modbus.relay is None:
        raise UnsupportedMeasurementError(f"{profile.model_id} has no relay the gateway can switch")
    return profile.modbus.relay

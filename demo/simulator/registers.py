"""A simulated meter's register map, written from its firmware profile: values in, words out.

The inverse of ``firmware_profiles.decode_read``: a value in our units becomes the raw number the
meter stores (``value / factor``), then register words of the profile's data type, big-endian,
high word first. Any Modbus profile works, not only the packaged ones.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from firmware_profiles import DataType, Profile, RegisterTable
from firmware_profiles.modbus.fields import RegisterField
from shared.quantities import Measurement

_FLOAT32 = struct.Struct(">f")
_BITS = {DataType.UINT16: 16, DataType.INT16: 16, DataType.UINT32: 32, DataType.INT32: 32}
#: Counters never show energy that has not been consumed yet: meters truncate them.
_COUNTERS = frozenset(
    {Measurement.ENERGY_IMPORT_WH, Measurement.ENERGY_EXPORT_WH, Measurement.ENERGY_TOTAL_WH}
)


def encode_field(field: RegisterField, value: Decimal) -> tuple[int, ...]:
    """The register words a meter of ``field``'s model shows for ``value`` (in our unit)."""
    raw = value / field.factor
    if field.data_type is DataType.FLOAT32:
        # float32 is the meter's own encoding: the binary rounding here is what a real SDM does.
        high, low = struct.unpack(">HH", _FLOAT32.pack(float(raw)))
        return (high, low)
    rounding = ROUND_DOWN if field.measurement in _COUNTERS else ROUND_HALF_UP
    bits = _BITS[field.data_type]
    # Two's complement for signed types; unsigned counters wrap as the register would.
    number = int(raw.to_integral_value(rounding)) % (1 << bits)
    if bits == 16:
        return (number,)
    return (number >> 16, number & 0xFFFF)


@dataclass(frozen=True, slots=True)
class RegisterLayout:
    """Which addresses a model answers in each table, and which one is its writable relay."""

    #: Per table, every readable address in order; values are filled in per read.
    addresses: Mapping[RegisterTable, tuple[int, ...]]
    relay_address: int | None


def layout_for(profile: Profile) -> RegisterLayout:
    """The addresses the meter answers: mapped registers, the relay, and bridgeable gaps.

    A gap of at most ``max_gap_registers`` between two mapped registers is readable (zeros), as
    the profile states the meter answers reads across it; wider gaps answer an exception, as
    real meters do for unmapped registers.
    """
    relay = profile.modbus.relay
    per_table: dict[RegisterTable, set[int]] = {table: set() for table in RegisterTable}
    for field in profile.fields.values():
        per_table[field.table].update(range(field.address, field.end))
    if relay is not None:
        per_table[RegisterTable.HOLDING].add(relay.address)
        per_table[relay.state_table].add(relay.state_address)
    gap_max = profile.modbus.max_gap_registers
    addresses = {table: _bridge_gaps(sorted(used), gap_max) for table, used in per_table.items()}
    return RegisterLayout(addresses, None if relay is None else relay.address)


def words_for(
    profile: Profile, values: Mapping[Measurement, Decimal], relay_closed: bool
) -> dict[RegisterTable, dict[int, int]]:
    """Every mapped register's word, per table, for the meter's current values."""
    words: dict[RegisterTable, dict[int, int]] = {table: {} for table in RegisterTable}
    for measurement, field in profile.fields.items():
        encoded = encode_field(field, values[measurement])
        for offset, word in enumerate(encoded):
            words[field.table][field.address + offset] = word
    relay = profile.modbus.relay
    if relay is not None:
        state = relay.closed_value if relay_closed else relay.open_value
        words[relay.state_table][relay.state_address] = state
        words[RegisterTable.HOLDING][relay.address] = state
    return words


def _bridge_gaps(used: list[int], gap_max: int) -> tuple[int, ...]:
    filled: list[int] = []
    for address in used:
        if filled and 1 < address - filled[-1] <= gap_max + 1:
            filled.extend(range(filled[-1] + 1, address))
        filled.append(address)
    return tuple(filled)

"""Plan the fewest Modbus reads for the measurements wanted, and decode what comes back.

The bus coordinator calls :func:`plan_reads` once per meter (the plan only changes when the
meter's configuration does) and :func:`decode_read` for every answer. Both are pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from firmware_profiles.errors import DecodeError, UnsupportedMeasurementError, WrongTransportError
from firmware_profiles.modbus.fields import RegisterField
from firmware_profiles.profile import Profile
from firmware_profiles.schema import RegisterTable
from shared.quantities import Measurement


@dataclass(frozen=True, slots=True)
class PlannedRead:
    """One Modbus read request, and the fields to decode from its answer."""

    model_id: str
    table: RegisterTable
    address: int
    count: int
    fields: tuple[RegisterField, ...]

    @property
    def function_code(self) -> int:
        """The Modbus function that performs this read (0x04 input, 0x03 holding registers)."""
        return self.table.read_function


def plan_reads(profile: Profile, wanted: Iterable[Measurement] | None = None) -> tuple[PlannedRead, ...]:
    """Group the wanted measurements' registers into as few reads as possible.

    Registers of one table are read together when the run stays within the profile's
    ``max_registers_per_request`` and the unwanted registers skipped between two fields number at
    most ``max_gap_registers`` (0 unless the meter is known to answer reads across unmapped
    registers). ``wanted=None`` means every measurement the profile maps. Asking for a measurement
    the model does not provide raises :class:`UnsupportedMeasurementError`. A meter that sends
    frames (LoRaWAN, NB-IoT, wM-Bus) has no registers: all of them is no reads, and asking for
    particular measurements raises :class:`WrongTransportError`.
    """
    if profile.modbus_spec is None:
        if wanted is None:
            return ()
        raise WrongTransportError(
            f"{profile.model_id} is a {profile.transport} meter; it has no registers to read"
        )
    fields = _wanted_fields(profile, wanted)
    reads: list[PlannedRead] = []
    for table in RegisterTable:
        in_table = [field for field in fields if field.table is table]
        reads.extend(_coalesce(profile, table, in_table))
    return tuple(reads)


def decode_read(read: PlannedRead, registers: Sequence[int]) -> dict[Measurement, Decimal]:
    """Decode the registers answered for ``read`` into values in our units.

    Raises :class:`DecodeError` naming model, measurement and address when the answer has the
    wrong number of registers or a register does not hold a valid value (NaN, infinity, > 16 bits).
    """
    if len(registers) != read.count:
        first = read.fields[0].where() if read.fields else f"{read.model_id}: {read.table} registers"
        raise DecodeError(
            f"{first}: expected {read.count} registers from 0x{read.address:04X}, got {len(registers)}"
        )
    start = read.address
    return {field.measurement: field.decode(registers, field.address - start) for field in read.fields}


def _wanted_fields(profile: Profile, wanted: Iterable[Measurement] | None) -> list[RegisterField]:
    if wanted is None:
        return list(profile.fields.values())
    wanted_set = set(wanted)
    missing = sorted(wanted_set.difference(profile.fields))
    if missing:
        provided = ", ".join(profile.fields)
        raise UnsupportedMeasurementError(
            f"{profile.model_id} does not measure {', '.join(missing)}; it measures: {provided}"
        )
    # profile.fields is in address order, so the result is too.
    return [field for measurement, field in profile.fields.items() if measurement in wanted_set]


def _coalesce(profile: Profile, table: RegisterTable, fields: list[RegisterField]) -> list[PlannedRead]:
    # Greedy in address order: each read takes as many following fields as fit. For intervals on
    # a line under a length limit this gives the fewest reads.
    max_count = profile.modbus.max_registers_per_request
    max_gap = profile.modbus.max_gap_registers
    reads: list[PlannedRead] = []
    group: list[RegisterField] = []
    for field in fields:
        if group and (field.address - group[-1].end > max_gap or field.end - group[0].address > max_count):
            reads.append(_read(profile, table, group))
            group = []
        group.append(field)
    if group:
        reads.append(_read(profile, table, group))
    return reads


def _read(profile: Profile, table: RegisterTable, group: list[RegisterField]) -> PlannedRead:
    address = group[0].address
    return PlannedRead(
        model_id=profile.model_id,
        table=table,
        address=address,
        count=group[-1].end - address,
        fields=tuple(group),
    )

"""Turn profile files into :class:`Profile` objects, refusing anything that would mislead billing.

:func:`parse_profile` takes text and a source name (a packaged file, or one an installer adds);
:func:`load_packaged_profiles` loads every ``*.toml`` shipped in ``firmware_profiles/data``.
Every refusal is a :class:`ProfileFileError` naming the file, the key path and what was expected.
"""

from __future__ import annotations

import enum
import itertools
import re
from decimal import Decimal
from importlib import resources
from types import MappingProxyType

import msgspec

from firmware_profiles.errors import ProfileFileError
from firmware_profiles.modbus.fields import RegisterField, integral_if_whole
from firmware_profiles.modbus.words import READERS
from firmware_profiles.payload_loader import compile_payload
from firmware_profiles.profile import NO_FIELDS, Billing, PayloadCodec, Profile
from firmware_profiles.schema import (
    BillingSpec,
    ChannelValue,
    DataType,
    ModbusSpec,
    Parity,
    ProfileSpec,
    RegisterSpec,
    RegisterTable,
    Transport,
)
from firmware_profiles.units import UNIT_FACTORS, parse_positive_decimal
from shared.quantities import BILLING_REGISTER, Measurement, Utility

DATA_PACKAGE = "firmware_profiles.data"
_MSGSPEC_PATH = re.compile(r"^(?P<problem>.*) - at `(?P<path>[^`]*)`$", re.DOTALL)
#: Keys whose values must be exact: a TOML float there gets this hint appended.
_DECIMAL_KEYS = (".scale", ".resolution", ".declared_maximum")
_DECIMAL_HINT = '; write exact numbers as decimal strings such as "0.01" (a TOML float is not exact)'
#: Keys whose value is one of a closed set: an unknown value gets the set appended.
_CHOICES: dict[str, type[enum.StrEnum]] = {
    "utility": Utility,
    "transport": Transport,
    "parity": Parity,
    "table": RegisterTable,
    "state_table": RegisterTable,
    "type": DataType,
    "measurement": Measurement,
    "pulses_become": Measurement,
    "confirmed_by": Measurement,
    "value": ChannelValue,
}


def parse_profile(text: str, source: str) -> Profile:
    """Validate one profile file's TOML text and compile it; ``source`` names it in errors."""
    spec = _decode(text, source)
    _check_sections(spec, source)
    if spec.modbus is not None:
        return _modbus_profile(spec, spec.modbus, source)
    payload = compile_payload(spec, source)
    return Profile(
        model_id=spec.model_id,
        manufacturer=spec.manufacturer,
        model=spec.model,
        utility=spec.utility,
        billing=_payload_billing(spec, payload, source),
        fields=NO_FIELDS,
        source=source,
        transport=spec.transport,
        payload=payload,
    )


def load_packaged_profiles() -> tuple[Profile, ...]:
    """Every profile shipped with the package, in file-name order."""
    folder = resources.files(DATA_PACKAGE)
    files = sorted((item for item in folder.iterdir() if item.name.endswith(".toml")), key=lambda f: f.name)
    return tuple(
        parse_profile(item.read_text(encoding="utf-8"), f"firmware_profiles/data/{item.name}")
        for item in files
    )


def _decode(text: str, source: str) -> ProfileSpec:
    try:
        return msgspec.toml.decode(text, type=ProfileSpec)
    except msgspec.ValidationError as error:
        match = _MSGSPEC_PATH.match(str(error))
        if match is None:
            raise ProfileFileError(source, "$", str(error)) from None
        path = match["path"]
        raise ProfileFileError(source, path, _with_hint(path, match["problem"])) from None
    except msgspec.DecodeError as error:
        raise ProfileFileError(source, None, f"not valid TOML: {error}") from None


def _with_hint(path: str, problem: str) -> str:
    if path.endswith(_DECIMAL_KEYS) and problem.endswith("got `float`"):
        return problem + _DECIMAL_HINT
    choices = _CHOICES.get(path.rsplit(".", 1)[-1])
    if choices is not None and problem.startswith("Invalid enum value"):
        return f"{problem}; expected one of: {', '.join(choices)}"
    return problem


def _check_sections(spec: ProfileSpec, source: str) -> None:
    # Exactly the transport's own section: a [modbus] table in a LoRaWAN file is a mistake that
    # would otherwise be silently ignored.
    sections = {
        Transport.MODBUS: spec.modbus,
        Transport.LORAWAN: spec.lorawan,
        Transport.NBIOT: spec.nbiot,
        Transport.WMBUS: spec.wmbus,
    }
    if sections[spec.transport] is None:
        raise ProfileFileError(
            source,
            f"$.{spec.transport}",
            f"transport is {str(spec.transport)!r} but the [{spec.transport}] table is missing",
        )
    for transport, section in sections.items():
        if transport is not spec.transport and section is not None:
            raise ProfileFileError(
                source,
                f"$.{transport}",
                f"a [{transport}] table does not belong in a {spec.transport} profile",
            )


def _modbus_profile(spec: ProfileSpec, modbus: ModbusSpec, source: str) -> Profile:
    fields = _compile_fields(spec.model_id, modbus, source)
    _check_relay(modbus, source)
    return Profile(
        model_id=spec.model_id,
        manufacturer=spec.manufacturer,
        model=spec.model,
        utility=spec.utility,
        billing=_billing(spec, fields, source),
        fields=MappingProxyType(fields),
        source=source,
        modbus_spec=modbus,
    )


def _compile_fields(model_id: str, modbus: ModbusSpec, source: str) -> dict[Measurement, RegisterField]:
    fields: dict[Measurement, RegisterField] = {}
    for index, entry in enumerate(modbus.registers):
        path = f"$.modbus.registers[{index}]"
        if entry.measurement in fields:
            raise ProfileFileError(source, f"{path}.measurement", f"{entry.measurement} is mapped twice")
        fields[entry.measurement] = _compile_field(model_id, entry, modbus, source, path)
    ordered = sorted(fields.values(), key=lambda field: (field.table, field.address))
    _check_overlaps(ordered, modbus.registers, source)
    return {field.measurement: field for field in ordered}


def _compile_field(
    model_id: str, entry: RegisterSpec, modbus: ModbusSpec, source: str, path: str
) -> RegisterField:
    units = UNIT_FACTORS.get(entry.measurement)
    if units is None:
        raise ProfileFileError(
            source,
            f"{path}.measurement",
            f"{entry.measurement} is not a register; describe it in [modbus.relay]",
        )
    if entry.unit not in units:
        expected = ", ".join(repr(unit) for unit in units)
        raise ProfileFileError(
            source, f"{path}.unit", f"expected one of {expected} for {entry.measurement}, got {entry.unit!r}"
        )
    width = entry.data_type.width
    if entry.address + width > 0x10000:
        raise ProfileFileError(source, f"{path}.address", f"a {entry.data_type} runs past register 0xFFFF")
    if width > modbus.max_registers_per_request:
        raise ProfileFileError(
            source,
            f"{path}.type",
            f"a {entry.data_type} needs {width} registers, more than max_registers_per_request",
        )
    scale = parse_positive_decimal(entry.scale, source, f"{path}.scale")
    return RegisterField(
        model_id=model_id,
        measurement=entry.measurement,
        table=entry.table,
        address=entry.address,
        data_type=entry.data_type,
        factor=integral_if_whole(scale * units[entry.unit]),
        reader=READERS[entry.data_type],
    )


def _check_overlaps(ordered: list[RegisterField], entries: tuple[RegisterSpec, ...], source: str) -> None:
    for before, after in itertools.pairwise(ordered):
        if before.table == after.table and after.address < before.end:
            index = next(i for i, entry in enumerate(entries) if entry.measurement == after.measurement)
            raise ProfileFileError(
                source,
                f"$.modbus.registers[{index}].address",
                f"{after.measurement} at 0x{after.address:04X} overlaps {before.measurement} "
                f"(0x{before.address:04X}–0x{before.end - 1:04X}) in the {after.table} table",
            )


def _check_relay(modbus: ModbusSpec, source: str) -> None:
    relay = modbus.relay
    if relay is not None and relay.closed_value == relay.open_value:
        raise ProfileFileError(
            source,
            "$.modbus.relay.open_value",
            "open_value and closed_value must differ, or the state is unreadable",
        )


def _billing(spec: ProfileSpec, fields: dict[Measurement, RegisterField], source: str) -> Billing:
    expected = BILLING_REGISTER[spec.utility]
    if spec.billing.measurement != expected:
        raise ProfileFileError(
            source,
            "$.billing.measurement",
            f"a {spec.utility} meter is billed from {expected}, got {spec.billing.measurement}",
        )
    field = fields.get(expected)
    if field is None:
        raise ProfileFileError(source, "$.billing.measurement", f"{expected} is not in [[modbus.registers]]")
    resolution = _resolution(spec.billing, field, source)
    return Billing(
        measurement=expected,
        resolution=resolution,
        declared_maximum=_declared_maximum(spec, resolution, source),
    )


def _payload_billing(spec: ProfileSpec, payload: PayloadCodec, source: str) -> Billing:
    # A frame has no register type to derive a step from, so the file must state it.
    expected = BILLING_REGISTER[spec.utility]
    if spec.billing.measurement != expected:
        raise ProfileFileError(
            source,
            "$.billing.measurement",
            f"a {spec.utility} meter is billed from {expected}, got {spec.billing.measurement}",
        )
    if expected not in payload.measurements:
        raise ProfileFileError(
            source,
            "$.billing.measurement",
            f"{expected} is not something codec {payload.codec_name!r} yields for this profile "
            f"(it yields: {', '.join(payload.measurements) or 'nothing billable'})",
        )
    if spec.billing.resolution is None:
        raise ProfileFileError(
            source,
            "$.billing.resolution",
            'a payload has no register type to take a step from; declare it, such as "1"',
        )
    resolution = parse_positive_decimal(spec.billing.resolution, source, "$.billing.resolution")
    return Billing(
        measurement=expected,
        resolution=resolution,
        declared_maximum=_declared_maximum(spec, resolution, source),
    )


def _declared_maximum(spec: ProfileSpec, resolution: Decimal, source: str) -> Decimal | None:
    maximum = spec.billing.declared_maximum
    if maximum is None:
        return None
    declared_maximum = parse_positive_decimal(maximum, source, "$.billing.declared_maximum")
    if declared_maximum % resolution != 0:
        raise ProfileFileError(
            source,
            "$.billing.declared_maximum",
            f"expected a whole number of resolution steps ({resolution}), got {maximum!r}; "
            "declare the last value the register shows before 0",
        )
    return declared_maximum


def _resolution(billing: BillingSpec, field: RegisterField, source: str) -> Decimal:
    # An integer register steps by one raw count; a float32 register has no fixed step, so its
    # profile must say which step billing assumes.
    if field.data_type is DataType.FLOAT32:
        if billing.resolution is None:
            raise ProfileFileError(
                source,
                "$.billing.resolution",
                f"a float32 register has no fixed step; declare the step of {field.measurement} "
                'as a decimal string in base units, such as "1"',
            )
        return parse_positive_decimal(billing.resolution, source, "$.billing.resolution")
    if billing.resolution is not None:
        raise ProfileFileError(
            source,
            "$.billing.resolution",
            f"a {field.data_type} register steps by scale × unit ({field.factor} base units); "
            "leave resolution out",
        )
    return field.factor

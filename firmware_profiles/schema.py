"""The profile file format: what one TOML file per meter model may say.

msgspec checks types, enums and ranges while decoding; :mod:`firmware_profiles.loader` then checks
what spans several keys (units against measurements, overlapping registers, the billing register,
a codec against its transport). A file names its ``transport`` and carries that transport's
section: ``[modbus]`` (a register map), or ``[lorawan]``, ``[nbiot]`` or ``[wmbus]`` (a payload
codec, and for LoRaWAN the uplink fPorts and the relay's downlink).

Every table refuses keys it does not know, so a typo fails loudly instead of being ignored.
Numbers that must be exact (``scale``, ``declared_maximum``) are decimal *strings*: a TOML float
such as ``0.1`` is not one tenth.
"""

from __future__ import annotations

import enum
from typing import Annotated, Literal

import msgspec

from shared.quantities import Measurement, Utility

#: Modbus allows at most 125 registers in one read (function 0x03/0x04 response limit).
MODBUS_MAX_REGISTERS_PER_READ = 125
_REGISTER_ADDRESS = Annotated[int, msgspec.Meta(ge=0, le=0xFFFF)]
_REGISTER_VALUE = Annotated[int, msgspec.Meta(ge=0, le=0xFFFF)]
_MODEL_ID = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=64)]
_NAME = Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
_BYTE = Annotated[int, msgspec.Meta(ge=0, le=0xFF)]
#: LoRaWAN application ports: 1–223 (0 carries MAC commands, 224–255 are reserved).
_F_PORT = Annotated[int, msgspec.Meta(ge=1, le=223)]
#: A downlink payload as hex digits, whole bytes; 242 bytes is LoRaWAN's largest application payload.
_HEX_BYTES = Annotated[str, msgspec.Meta(pattern=r"^(?:[0-9A-Fa-f]{2})+$", max_length=484)]


class Transport(enum.StrEnum):
    """How the gateway talks to the meter."""

    MODBUS = "modbus"
    LORAWAN = "lorawan"
    NBIOT = "nbiot"
    #: Wireless M-Bus telegrams, decrypted by the receiver that hands them to the gateway.
    WMBUS = "wmbus"


class RegisterTable(enum.StrEnum):
    """The Modbus table a register lives in; each is read with its own function code."""

    INPUT = "input"
    HOLDING = "holding"

    @property
    def read_function(self) -> int:
        """The Modbus function code that reads this table (0x04 input, 0x03 holding)."""
        return 0x04 if self is RegisterTable.INPUT else 0x03


class DataType(enum.StrEnum):
    """How register words encode a number; all big-endian, high word first."""

    FLOAT32 = "float32"
    UINT16 = "uint16"
    INT16 = "int16"
    UINT32 = "uint32"
    INT32 = "int32"

    @property
    def width(self) -> int:
        """How many 16-bit registers one value occupies."""
        return 1 if self in (DataType.UINT16, DataType.INT16) else 2


class Parity(enum.StrEnum):
    """Serial parity; Modbus RTU always uses 8 data bits, so only parity and stop bits vary."""

    NONE = "none"
    EVEN = "even"
    ODD = "odd"


class LineSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The serial line settings the meter ships with."""

    baud: Literal[1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200]
    parity: Parity
    stop_bits: Literal[1, 2]


class RegisterSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One measurement's register: where it is, how it is encoded and how to reach our unit.

    The value in our unit is ``raw × scale × (factor of unit into the measurement's unit)``:
    a DDS238-2 energy register holds 1/100 kWh, so ``scale = "0.01"``, ``unit = "kWh"``.
    """

    measurement: Measurement
    table: RegisterTable
    address: _REGISTER_ADDRESS
    data_type: DataType = msgspec.field(name="type")
    unit: str
    scale: str = "1"


class BillingSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The register the meter is billed from, its step, and where it rolls over, when known.

    ``resolution`` is written only for float32 registers, which have no fixed step; for integer
    registers it follows from ``scale`` and ``unit``.
    """

    measurement: Measurement
    resolution: str | None = None
    declared_maximum: str | None = None


class ModbusRelaySpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A relay switched by writing a holding register, and where its state is read back."""

    address: _REGISTER_ADDRESS
    write_function: Literal[0x06, 0x10]
    closed_value: _REGISTER_VALUE
    open_value: _REGISTER_VALUE
    state_table: RegisterTable
    state_address: _REGISTER_ADDRESS


class ModbusSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How to talk to the meter over Modbus RTU, and its register map."""

    line: LineSettings
    request_spacing_ms: Annotated[int, msgspec.Meta(ge=0, le=10_000)]
    response_timeout_ms: Annotated[int, msgspec.Meta(ge=1, le=10_000)]
    max_registers_per_request: Annotated[int, msgspec.Meta(ge=1, le=MODBUS_MAX_REGISTERS_PER_READ)]
    registers: Annotated[tuple[RegisterSpec, ...], msgspec.Meta(min_length=1, max_length=256)]
    max_gap_registers: Annotated[int, msgspec.Meta(ge=0, le=MODBUS_MAX_REGISTERS_PER_READ)] = 0
    relay: ModbusRelaySpec | None = None


class ChannelValue(enum.StrEnum):
    """How a channel entry's value is encoded; ``skip`` entries are checked for length only."""

    UINT8 = "uint8"
    UINT16LE = "uint16le"
    INT16LE = "int16le"
    UINT32LE = "uint32le"
    SKIP = "skip"


class ChannelSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One (channel, type) entry of a channel/type payload (Milesight): its size and meaning.

    An entry maps to a ``measurement`` (value × ``scale`` in ``unit``), or reports the state of a
    relay output named by ``relay_output`` (1 = closed), or is skipped (device information).
    """

    channel: _BYTE
    type_id: _BYTE = msgspec.field(name="type")
    size: Annotated[int, msgspec.Meta(ge=1, le=32)]
    value: ChannelValue = ChannelValue.SKIP
    measurement: Measurement | None = None
    unit: str | None = None
    scale: str = "1"
    relay_output: _NAME | None = None


class PayloadRelaySpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A relay switched by a downlink, and the decoded state that confirms it switched."""

    #: The relay output the meter's supply runs through, as the codec names it ("RO1", "socket").
    output: _NAME
    closed_hex: _HEX_BYTES
    open_hex: _HEX_BYTES
    #: The measurement a later uplink reports the state in; always ``relay_closed``.
    confirmed_by: Measurement
    #: The downlink's fPort (LoRaWAN only).
    f_port: _F_PORT | None = None


class PayloadSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A meter that sends frames: which codec decodes them, and how to switch its relay."""

    codec: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    #: LoRaWAN only: the fPorts the meter sends readings on; any other port is a decode error.
    f_ports: Annotated[tuple[_F_PORT, ...], msgspec.Meta(max_length=16)] = ()
    #: For pulse counters: the measurement the pulses become once a meter's pulse weight is known.
    pulses_become: Measurement | None = None
    relay: PayloadRelaySpec | None = None
    channels: Annotated[tuple[ChannelSpec, ...], msgspec.Meta(max_length=64)] = ()


class ProfileSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One meter model, as written in its profile file."""

    model_id: _MODEL_ID
    manufacturer: _NAME
    model: _NAME
    utility: Utility
    transport: Transport
    billing: BillingSpec
    modbus: ModbusSpec | None = None
    lorawan: PayloadSpec | None = None
    nbiot: PayloadSpec | None = None
    wmbus: PayloadSpec | None = None

"""Meter models as data: one TOML file per model, a schema, a registry and pure decoders.

Typical use by the gateway::

    profile = packaged_registry().get("eastron-sdm120")
    for read in plan_reads(profile, [Measurement.ENERGY_IMPORT_WH, Measurement.VOLTAGE_V]):
        registers = ...  # the bus adapter performs read.function_code at read.address, read.count
        values = decode_read(read, registers)  # {Measurement: Decimal} in Wh, V, ...

This package imports only ``shared``, the standard library and msgspec, and reads no files but
its own packaged profiles. See ``docs/firmware-profiles.md`` for the file format.

Meters that send frames (LoRaWAN, NB-IoT, wireless M-Bus) are decoded by the bridges with::

    decoded = decode_uplink(profile, f_port, payload, options=DecodeOptions(pulse_weight=...))
    downlink = encode_relay_downlink(profile, closed=False)  # fPort and bytes that open the relay
"""

from firmware_profiles.codecs.base import Alarm, HistoryPoint, MeterAlarm
from firmware_profiles.errors import (
    DecodeError,
    DuplicateProfileError,
    FirmwareProfileError,
    InvalidOptionError,
    ProfileFileError,
    UnknownProfileError,
    UnsupportedMeasurementError,
    WrongTransportError,
)
from firmware_profiles.loader import load_packaged_profiles, parse_profile
from firmware_profiles.modbus.reads import PlannedRead, decode_read, plan_reads
from firmware_profiles.modbus.relay import (
    RelayCommand,
    decode_relay_state,
    encode_relay_command,
    relay_state_read,
)
from firmware_profiles.profile import Billing, PayloadCodec, PayloadRelay, Profile
from firmware_profiles.registry import ProfileRegistry, packaged_registry
from firmware_profiles.schema import DataType, Parity, RegisterTable, Transport
from firmware_profiles.uplink import (
    DecodedUplink,
    DecodeOptions,
    Downlink,
    decode_uplink,
    encode_relay_downlink,
    pulse_billing,
)

__all__ = [
    "Alarm",
    "Billing",
    "DataType",
    "DecodeError",
    "DecodeOptions",
    "DecodedUplink",
    "Downlink",
    "DuplicateProfileError",
    "FirmwareProfileError",
    "HistoryPoint",
    "InvalidOptionError",
    "MeterAlarm",
    "Parity",
    "PayloadCodec",
    "PayloadRelay",
    "PlannedRead",
    "Profile",
    "ProfileFileError",
    "ProfileRegistry",
    "RegisterTable",
    "RelayCommand",
    "Transport",
    "UnknownProfileError",
    "UnsupportedMeasurementError",
    "WrongTransportError",
    "decode_read",
    "decode_relay_state",
    "decode_uplink",
    "encode_relay_command",
    "encode_relay_downlink",
    "load_packaged_profiles",
    "packaged_registry",
    "parse_profile",
    "plan_reads",
    "pulse_billing",
    "relay_state_read",
]

"""A loaded meter model: the validated profile file plus what decoding precomputes from it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from firmware_profiles.codecs.base import Codec, TlvChannel
from firmware_profiles.errors import WrongTransportError
from firmware_profiles.modbus.fields import RegisterField
from firmware_profiles.schema import ModbusSpec, Transport
from shared.quantities import Measurement, Utility


@dataclass(frozen=True, slots=True)
class Billing:
    """The measurement a meter is billed from, in base units (Wh or L).

    These are what ``shared.metering.RegisterSpec`` needs from the profile. ``resolution`` is the
    register's smallest step. ``declared_maximum`` is the last value the register shows before it
    rolls over to 0, when a source states one; ``None`` means unknown, so a backwards step must be
    treated as an alarm, never as a rollover. For a pulse counter (``Profile.payload.pulses_become``
    set) both count pulses: :func:`firmware_profiles.uplink.pulse_billing` scales them by a meter's
    pulse weight.
    """

    measurement: Measurement
    resolution: Decimal
    declared_maximum: Decimal | None


@dataclass(frozen=True, slots=True)
class PayloadRelay:
    """How to switch a relay with a downlink; the state comes back in a later uplink."""

    #: The relay output the supply runs through, as the codec names it.
    output: str
    #: The downlink's fPort; ``None`` for transports without ports.
    f_port: int | None
    closed_payload: bytes
    open_payload: bytes


@dataclass(frozen=True, slots=True)
class PayloadCodec:
    """A frame-sending meter's codec, compiled from its ``[lorawan]``/``[nbiot]``/``[wmbus]`` table."""

    codec_name: str
    decode: Codec
    #: LoRaWAN uplink ports that carry readings; empty for transports without ports.
    f_ports: frozenset[int]
    measurements: tuple[Measurement, ...]
    #: The channel table of a table-driven codec, keyed by (channel, type); empty otherwise.
    channels: Mapping[tuple[int, int], TlvChannel]
    pulses_become: Measurement | None
    pulse_inputs: tuple[str, ...]
    relay: PayloadRelay | None


@dataclass(frozen=True, slots=True)
class Profile:
    """One meter model, validated and compiled; built only by :mod:`firmware_profiles.loader`."""

    model_id: str
    manufacturer: str
    model: str
    utility: Utility
    billing: Billing
    #: The register map keyed by measurement, in address order within each table; empty for
    #: meters that send frames instead.
    fields: Mapping[Measurement, RegisterField]
    #: Where the profile came from (a packaged file name or an installer's file), for messages.
    source: str
    transport: Transport = Transport.MODBUS
    modbus_spec: ModbusSpec | None = None
    payload: PayloadCodec | None = None

    @property
    def modbus(self) -> ModbusSpec:
        """The Modbus line, timings and relay; :class:`WrongTransportError` for other transports."""
        if self.modbus_spec is None:
            raise WrongTransportError(f"{self.model_id} is a {self.transport} meter; it has no Modbus map")
        return self.modbus_spec

    @property
    def codec(self) -> PayloadCodec:
        """The payload codec; :class:`WrongTransportError` for a Modbus meter."""
        if self.payload is None:
            raise WrongTransportError(f"{self.model_id} is a {self.transport} meter; it sends no payloads")
        return self.payload

    @property
    def measurements(self) -> tuple[Measurement, ...]:
        """Every measurement this model's register map or payload codec provides."""
        if self.payload is not None:
            return self.payload.measurements
        return tuple(self.fields)

    @property
    def has_relay(self) -> bool:
        """Whether the meter has a relay the gateway can switch."""
        if self.payload is not None:
            return self.payload.relay is not None
        return self.modbus.relay is not None


NO_FIELDS: Mapping[Measurement, RegisterField] = MappingProxyType({})
NO_CHANNELS: Mapping[tuple[int, int], TlvChannel] = MappingProxyType({})

"""Compile a ``[lorawan]``, ``[nbiot]`` or ``[wmbus]`` table into a :class:`PayloadCodec`.

Everything a payload will need is checked here, once, so a profile that loads can decode: the
codec exists and speaks the file's transport, LoRaWAN files name their uplink ports, a channel
table fits its measurements' units, pulses become the utility's billing measurement, and a relay
names an output the codec reports and a downlink that differs between closed and open.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from types import MappingProxyType

from firmware_profiles.codecs import CODECS, CodecInfo
from firmware_profiles.codecs.base import Bytes, TlvChannel
from firmware_profiles.errors import ProfileFileError
from firmware_profiles.modbus.fields import integral_if_whole
from firmware_profiles.profile import NO_CHANNELS, PayloadCodec, PayloadRelay
from firmware_profiles.schema import ChannelSpec, ChannelValue, PayloadSpec, ProfileSpec, Transport
from firmware_profiles.units import UNIT_FACTORS, parse_positive_decimal
from shared.quantities import BILLING_REGISTER, Measurement

_READERS: dict[ChannelValue, tuple[int, Callable[[Bytes, int], int]]] = {
    ChannelValue.UINT8: (1, lambda data, at: data.uint(at, 1, "uint8")),
    ChannelValue.UINT16LE: (2, lambda data, at: data.uint(at, 2, "uint16", little=True)),
    ChannelValue.INT16LE: (2, lambda data, at: data.sint(at, 2, "int16", little=True)),
    ChannelValue.UINT32LE: (4, lambda data, at: data.uint(at, 4, "uint32", little=True)),
}


def compile_payload(spec: ProfileSpec, source: str) -> PayloadCodec:
    """The compiled codec of a profile whose transport sends frames."""
    section = {Transport.LORAWAN: spec.lorawan, Transport.NBIOT: spec.nbiot, Transport.WMBUS: spec.wmbus}[
        spec.transport
    ]
    assert section is not None, "the loader checks the transport's table is present"
    path = f"$.{spec.transport}"
    info = _codec(section, spec.transport, source, path)
    _check_ports(section, spec.transport, source, path)
    channels = _channels(section, info, source, path)
    measurements = set(info.measurements)
    relay_outputs = set(info.relay_outputs)
    for entry in channels.values():
        if entry.measurement is not None:
            measurements.add(entry.measurement)
        if entry.relay_output is not None:
            relay_outputs.add(entry.relay_output)
    if section.pulses_become is not None:
        _check_pulses(spec, section.pulses_become, measurements, source, path)
        measurements.add(section.pulses_become)
    return PayloadCodec(
        codec_name=section.codec,
        decode=info.decode,
        f_ports=frozenset(section.f_ports),
        measurements=tuple(sorted(measurements)),
        channels=MappingProxyType(channels) if channels else NO_CHANNELS,
        pulses_become=section.pulses_become,
        pulse_inputs=info.pulse_inputs,
        relay=_relay(section, spec.transport, relay_outputs, source, f"{path}.relay"),
    )


def _codec(section: PayloadSpec, transport: Transport, source: str, path: str) -> CodecInfo:
    info = CODECS.get(section.codec)
    if info is None:
        known = ", ".join(sorted(CODECS))
        raise ProfileFileError(
            source, f"{path}.codec", f"unknown codec {section.codec!r}; known codecs: {known}"
        )
    if info.transport is not transport:
        raise ProfileFileError(
            source,
            f"{path}.codec",
            f"codec {section.codec!r} decodes {info.transport} frames, not {transport}",
        )
    return info


def _check_ports(section: PayloadSpec, transport: Transport, source: str, path: str) -> None:
    if transport is Transport.LORAWAN:
        if not section.f_ports:
            raise ProfileFileError(source, f"{path}.f_ports", "name the fPort(s) the meter sends readings on")
        if len(set(section.f_ports)) != len(section.f_ports):
            raise ProfileFileError(source, f"{path}.f_ports", "an fPort is listed twice")
    elif section.f_ports:
        raise ProfileFileError(source, f"{path}.f_ports", f"{transport} frames have no fPort")


def _channels(
    section: PayloadSpec, info: CodecInfo, source: str, path: str
) -> dict[tuple[int, int], TlvChannel]:
    if not info.table_driven:
        if section.channels:
            raise ProfileFileError(
                source, f"{path}.channels", f"codec {section.codec!r} takes no channel table"
            )
        return {}
    if not section.channels:
        raise ProfileFileError(source, f"{path}.channels", f"codec {section.codec!r} needs a channel table")
    channels: dict[tuple[int, int], TlvChannel] = {}
    for index, entry in enumerate(section.channels):
        key = (entry.channel, entry.type_id)
        entry_path = f"{path}.channels[{index}]"
        if key in channels:
            raise ProfileFileError(
                source,
                entry_path,
                f"channel 0x{entry.channel:02X} type 0x{entry.type_id:02X} is listed twice",
            )
        channels[key] = _channel(entry, source, entry_path)
    return channels


def _channel(entry: ChannelSpec, source: str, path: str) -> TlvChannel:
    if entry.value is ChannelValue.SKIP:
        if entry.measurement is not None or entry.relay_output is not None or entry.unit is not None:
            raise ProfileFileError(
                source, f"{path}.value", "a skipped entry maps to nothing; give its value type"
            )
        return TlvChannel(entry.channel, entry.type_id, entry.size, None, None, Decimal(1), None)
    width, reader = _READERS[entry.value]
    if entry.size != width:
        raise ProfileFileError(
            source, f"{path}.size", f"a {entry.value} value is {width} byte(s), got {entry.size}"
        )
    if (entry.measurement is None) == (entry.relay_output is None):
        raise ProfileFileError(source, path, "an entry maps to exactly one of measurement or relay_output")
    if entry.relay_output is not None:
        return TlvChannel(
            entry.channel, entry.type_id, entry.size, reader, None, Decimal(1), entry.relay_output
        )
    assert entry.measurement is not None
    units = UNIT_FACTORS.get(entry.measurement)
    if units is None:
        raise ProfileFileError(
            source, f"{path}.measurement", f"{entry.measurement} is a relay; use relay_output"
        )
    if entry.unit is None or entry.unit not in units:
        expected = ", ".join(repr(unit) for unit in units)
        raise ProfileFileError(
            source, f"{path}.unit", f"expected one of {expected} for {entry.measurement}, got {entry.unit!r}"
        )
    factor = integral_if_whole(
        parse_positive_decimal(entry.scale, source, f"{path}.scale") * units[entry.unit]
    )
    return TlvChannel(entry.channel, entry.type_id, entry.size, reader, entry.measurement, factor, None)


def _check_pulses(
    spec: ProfileSpec, becomes: Measurement, measurements: set[Measurement], source: str, path: str
) -> None:
    if Measurement.PULSE_COUNT not in measurements:
        raise ProfileFileError(source, f"{path}.pulses_become", "this codec counts no pulses")
    expected = BILLING_REGISTER[spec.utility]
    if becomes != expected:
        raise ProfileFileError(
            source,
            f"{path}.pulses_become",
            f"a {spec.utility} meter's pulses become {expected}, got {becomes}",
        )


def _relay(
    section: PayloadSpec, transport: Transport, outputs: set[str], source: str, path: str
) -> PayloadRelay | None:
    relay = section.relay
    if relay is None:
        return None
    if relay.output not in outputs:
        known = ", ".join(sorted(outputs)) or "none"
        raise ProfileFileError(
            source, f"{path}.output", f"output {relay.output!r} is not reported; outputs: {known}"
        )
    if relay.confirmed_by is not Measurement.RELAY_CLOSED:
        raise ProfileFileError(
            source, f"{path}.confirmed_by", f"expected 'relay_closed', got {relay.confirmed_by!r}"
        )
    if (relay.f_port is None) == (transport is Transport.LORAWAN):
        problem = (
            "a LoRaWAN downlink needs its fPort" if relay.f_port is None else f"{transport} has no fPort"
        )
        raise ProfileFileError(source, f"{path}.f_port", problem)
    closed, opened = bytes.fromhex(relay.closed_hex), bytes.fromhex(relay.open_hex)
    if closed == opened:
        raise ProfileFileError(source, f"{path}.open_hex", "open_hex and closed_hex must differ")
    return PayloadRelay(output=relay.output, f_port=relay.f_port, closed_payload=closed, open_payload=opened)

"""Decode a frame-sending meter's uplinks and encode its relay downlinks: the bridges' API.

The gateway's LoRaWAN, NB-IoT and wM-Bus bridges call :func:`decode_uplink` for every frame a
meter sends and :func:`encode_relay_downlink` to switch a relay. Both are pure. A payload that
cannot be decoded raises :class:`~firmware_profiles.errors.DecodeError` naming the model, the
fPort and the byte offset; the bridge journals it as a ``decode_error`` alarm and bills nothing.

Pulse counters hand over in two steps: the profile says what the pulses become
(``pulses_become = "volume_l"``), the meter's configuration says how much one pulse is
(``DecodeOptions.pulse_weight``, in litres or Wh), and the decoded uplink then carries both the raw
``pulse_count`` and the billing measurement.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from firmware_profiles.codecs.base import Alarm, Bytes, CodecOptions, Context, Frame, HistoryPoint
from firmware_profiles.errors import DecodeError, InvalidOptionError, UnsupportedMeasurementError
from firmware_profiles.modbus.fields import integral_if_whole
from firmware_profiles.profile import Billing, PayloadCodec, Profile
from firmware_profiles.schema import Transport
from shared.quantities import Measurement

#: Larger than any frame these meters send (LoRaWAN ≤ 242 bytes, a wM-Bus telegram ≤ 256).
MAX_PAYLOAD_BYTES = 1024


@dataclass(frozen=True, slots=True)
class DecodeOptions:
    """Per-meter settings from the gateway's meter configuration."""

    #: Base units (litres or Wh) one pulse stands for; ``None`` reports pulses only.
    pulse_weight: Decimal | None = None
    #: Which input of a multi-input pulse device feeds this meter (Adeunis "A"/"B").
    pulse_input: str | None = None
    #: Seconds between a device's logged samples, where only its configuration says so (Adeunis).
    history_period_s: int | None = None

    def __post_init__(self) -> None:
        weight = self.pulse_weight
        if weight is not None and (not isinstance(weight, Decimal) or not weight.is_finite() or weight <= 0):
            raise InvalidOptionError(f"pulse_weight must be a positive, finite Decimal, got {weight!r}")
        if self.history_period_s is not None and not 0 < self.history_period_s <= 31 * 86_400:
            raise InvalidOptionError(f"history_period_s must be 1 s to 31 days, got {self.history_period_s}")


@dataclass(frozen=True, slots=True)
class DecodedUplink:
    """What one uplink says, in our vocabulary."""

    model_id: str
    measurements: Mapping[Measurement, Decimal]
    alarms: tuple[Alarm, ...] = ()
    #: The state of the relay the profile switches; ``None`` when the frame does not report it.
    relay_closed: bool | None = None
    #: Every relay output the frame reports, by the vendor's name.
    relay_states: Mapping[str, bool] = field(default_factory=dict)
    #: Logged register values, oldest first, for filling gaps.
    history: tuple[HistoryPoint, ...] = ()
    device_time_unix_s: int | None = None
    #: When ``measurements`` were taken, if not when the frame was sent (a W1 sends the register it
    #: logged at the last whole hour); ``None``: at the frame's own time.
    measured_at_unix_s: int | None = None
    device_id: str | None = None
    frame_counter: int | None = None


@dataclass(frozen=True, slots=True)
class Downlink:
    """A frame to send to the meter: LoRaWAN fPort (``None`` without ports) and payload bytes."""

    f_port: int | None
    payload: bytes


def decode_uplink(
    profile: Profile, f_port: int | None, payload: bytes, *, options: DecodeOptions | None = None
) -> DecodedUplink:
    """Decode one uplink of a LoRaWAN, NB-IoT or wM-Bus meter, or raise :class:`DecodeError`."""
    options = options or DecodeOptions()
    codec = profile.codec
    _check_port(profile, codec, f_port)
    _check_input(profile, codec, options)
    context = Context(
        model_id=profile.model_id,
        f_port=f_port,
        channels=codec.channels,
        options=CodecOptions(pulse_input=options.pulse_input, history_period_s=options.history_period_s),
    )
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise context.error(MAX_PAYLOAD_BYTES, f"{len(payload)} bytes is longer than any frame of this meter")
    frame = codec.decode(Bytes(bytes(payload), context))
    measurements, history = _with_pulse_weight(codec, frame, options.pulse_weight)
    return DecodedUplink(
        model_id=profile.model_id,
        measurements=measurements,
        alarms=frame.alarms,
        relay_closed=None if codec.relay is None else frame.relay_states.get(codec.relay.output),
        relay_states=dict(frame.relay_states),
        history=history,
        device_time_unix_s=frame.device_time_unix_s,
        measured_at_unix_s=frame.measured_at_unix_s,
        device_id=frame.device_id,
        frame_counter=frame.frame_counter,
    )


def encode_relay_downlink(profile: Profile, closed: bool) -> Downlink:
    """The downlink that closes (supply on) or opens (supply off) the meter's relay.

    The relay is not switched until a later uplink's ``relay_closed`` says so.
    """
    relay = profile.codec.relay
    if relay is None:
        raise UnsupportedMeasurementError(f"{profile.model_id} has no relay the gateway can switch")
    return Downlink(f_port=relay.f_port, payload=relay.closed_payload if closed else relay.open_payload)


def pulse_billing(profile: Profile, pulse_weight: Decimal) -> Billing:
    """A pulse counter's billing register for one meter: the profile's pulses times its weight."""
    if profile.payload is None or profile.payload.pulses_become is None:
        raise UnsupportedMeasurementError(f"{profile.model_id} is not a pulse counter")
    weight = DecodeOptions(pulse_weight=pulse_weight).pulse_weight
    assert weight is not None
    maximum = profile.billing.declared_maximum
    return Billing(
        measurement=profile.billing.measurement,
        resolution=integral_if_whole(profile.billing.resolution * weight),
        declared_maximum=None if maximum is None else integral_if_whole(maximum * weight),
    )


def _check_port(profile: Profile, codec: PayloadCodec, f_port: int | None) -> None:
    if profile.transport is not Transport.LORAWAN:
        if f_port is not None:
            raise DecodeError(f"{profile.model_id}: fPort {f_port}: {profile.transport} frames have no fPort")
        return
    if f_port is None:
        raise DecodeError(f"{profile.model_id}: no fPort: a LoRaWAN uplink needs the fPort it came on")
    if f_port not in codec.f_ports:
        expected = ", ".join(str(port) for port in sorted(codec.f_ports))
        raise DecodeError(
            f"{profile.model_id}: fPort {f_port}: this model sends no readings on it; expected {expected}"
        )


def _check_input(profile: Profile, codec: PayloadCodec, options: DecodeOptions) -> None:
    if options.pulse_input is not None and options.pulse_input not in codec.pulse_inputs:
        known = ", ".join(codec.pulse_inputs) or "none"
        raise InvalidOptionError(
            f"{profile.model_id}: pulse input {options.pulse_input!r} does not exist; inputs: {known}"
        )


def _with_pulse_weight(
    codec: PayloadCodec, frame: Frame, weight: Decimal | None
) -> tuple[dict[Measurement, Decimal], tuple[HistoryPoint, ...]]:
    measurements = dict(frame.measurements)
    becomes = codec.pulses_become
    if becomes is None or weight is None:
        return measurements, frame.history
    pulses = measurements.get(Measurement.PULSE_COUNT)
    if pulses is not None:
        measurements[becomes] = integral_if_whole(pulses * weight)
    history = tuple(
        HistoryPoint(point.at_unix_s, becomes, integral_if_whole(point.value * weight))
        if point.measurement is Measurement.PULSE_COUNT
        else point
        for point in frame.history
    )
    return measurements, history

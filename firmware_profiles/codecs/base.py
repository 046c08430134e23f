"""What every payload codec shares: bounded byte reads, the frame a codec returns, its context.

A codec is a pure function ``(context, payload) -> Frame``. It reads bytes only through
:class:`Bytes`, whose reads check bounds, so a short or garbled payload becomes a
:class:`~firmware_profiles.errors.DecodeError` naming the model, the fPort and the byte offset,
never an ``IndexError`` and never a guess. Times are Unix seconds (UTC) as integers: this package
reads no clock and builds no ``datetime``; the bridge converts once, at the edge.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from firmware_profiles.errors import DecodeError
from shared.journal.bodies import AlarmKind
from shared.quantities import Measurement


class MeterAlarm(enum.StrEnum):
    """A condition a meter reports about itself, in our words; :attr:`journal_kind` files it."""

    TAMPER = "tamper"
    LEAK = "leak"
    BURST = "burst"
    REVERSE_FLOW = "reverse_flow"
    LOW_BATTERY = "low_battery"
    DRY = "dry"
    METER_FAULT = "meter_fault"
    FROST = "frost"

    @property
    def journal_kind(self) -> AlarmKind:
        """The journal's alarm kind for this condition."""
        return _JOURNAL_KIND[self]


_JOURNAL_KIND: Mapping[MeterAlarm, AlarmKind] = {
    MeterAlarm.TAMPER: AlarmKind.TAMPER,
    MeterAlarm.LEAK: AlarmKind.LEAK,
    MeterAlarm.BURST: AlarmKind.BURST,
    MeterAlarm.REVERSE_FLOW: AlarmKind.REVERSE_FLOW,
    MeterAlarm.LOW_BATTERY: AlarmKind.LOW_BATTERY,
    MeterAlarm.DRY: AlarmKind.DRY,
    MeterAlarm.METER_FAULT: AlarmKind.METER_FAULT,
    MeterAlarm.FROST: AlarmKind.FROST,
}


@dataclass(frozen=True, slots=True)
class Alarm:
    """One condition the frame reports, with the vendor's wording in ``detail``."""

    condition: MeterAlarm
    detail: str

    @property
    def kind(self) -> AlarmKind:
        """The journal's alarm kind (``shared.journal.bodies.Alarm.kind``)."""
        return self.condition.journal_kind


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    """A register value the meter logged at ``at_unix_s`` (UTC), in our unit."""

    at_unix_s: int
    measurement: Measurement
    value: Decimal


@dataclass(frozen=True, slots=True)
class Frame:
    """What a codec found in one payload, before the profile's own steps (relay output, pulses)."""

    measurements: Mapping[Measurement, Decimal] = field(default_factory=dict)
    alarms: tuple[Alarm, ...] = ()
    #: Relay outputs by the vendor's name ("RO1", "socket"): ``True`` when closed (supply on).
    relay_states: Mapping[str, bool] = field(default_factory=dict)
    history: tuple[HistoryPoint, ...] = ()
    device_time_unix_s: int | None = None
    #: When ``measurements`` were taken, if the frame says and it is not when it was sent (a W1's
    #: register is its log at the last whole hour); ``None``: they are the frame's own.
    measured_at_unix_s: int | None = None
    #: An identity the frame carries (an NB-IoT IMEI, a wM-Bus address), for matching meters.
    device_id: str | None = None
    #: The device's own frame counter, when the frame carries one, for spotting repeats.
    frame_counter: int | None = None


@dataclass(frozen=True, slots=True)
class TlvChannel:
    """One Milesight-style channel/type entry, compiled from a profile's ``channels`` table."""

    channel: int
    type_id: int
    size: int
    reader: Callable[[Bytes, int], int] | None
    measurement: Measurement | None
    factor: Decimal
    relay_output: str | None


@dataclass(frozen=True, slots=True)
class CodecOptions:
    """Per-meter settings a codec needs and the payload does not carry."""

    #: Which pulse input feeds this meter on a device with several ("A", "B", "DI1").
    pulse_input: str | None = None
    #: Seconds between a device's logged samples, when only its configuration says so.
    history_period_s: int | None = None


@dataclass(frozen=True, slots=True)
class Context:
    """Where a payload came from, for messages, and what the profile tells the codec."""

    model_id: str
    f_port: int | None
    channels: Mapping[tuple[int, int], TlvChannel]
    options: CodecOptions

    def error(self, offset: int, problem: str) -> DecodeError:
        """A :class:`DecodeError` naming the model, the fPort and the byte offset."""
        port = "no fPort" if self.f_port is None else f"fPort {self.f_port}"
        return DecodeError(f"{self.model_id}: {port}: byte {offset}: {problem}")


class Bytes:
    """A payload read only through bounds-checked, offset-naming reads."""

    __slots__ = ("base", "context", "data")

    def __init__(self, data: bytes, context: Context, *, base: int = 0) -> None:
        self.data = data
        self.context = context
        #: Where ``data`` starts in the payload as received, so errors name the real offset.
        self.base = base

    def __len__(self) -> int:
        return len(self.data)

    def need(self, offset: int, count: int, what: str) -> bytes:
        """``count`` bytes from ``offset``, or a decode error saying how short the payload is."""
        end = offset + count
        if offset < 0 or end > len(self.data):
            raise self.error(
                offset,
                f"{what} needs {count} byte(s) here; the payload ends at byte {self.base + len(self.data)}",
            )
        return self.data[offset:end]

    def uint(self, offset: int, count: int, what: str, *, little: bool = False) -> int:
        """An unsigned integer of ``count`` bytes, big-endian unless ``little``."""
        return int.from_bytes(self.need(offset, count, what), "little" if little else "big")

    def sint(self, offset: int, count: int, what: str, *, little: bool = False) -> int:
        """A two's-complement signed integer of ``count`` bytes."""
        chunk = self.need(offset, count, what)
        return int.from_bytes(chunk, "little" if little else "big", signed=True)

    def exact_length(self, expected: int, what: str) -> None:
        """Refuse a payload that is not exactly ``expected`` bytes long."""
        if len(self.data) != expected:
            raise self.error(
                min(len(self.data), expected), f"{what} is {expected} bytes, got {len(self.data)}"
            )

    def error(self, offset: int, problem: str) -> DecodeError:
        """A decode error at ``offset`` in this payload."""
        return self.context.error(self.base + offset, problem)

    def tail(self, offset: int) -> Bytes:
        """The bytes from ``offset`` on, as a payload of their own whose errors keep real offsets."""
        self.need(offset, 0, "the rest of the frame")
        return Bytes(self.data[offset:], self.context, base=self.base + offset)


#: The shape of every codec: the payload in, a frame out, or a :class:`DecodeError`.
Codec = Callable[[Bytes], Frame]


def bcd_digits(raw: bytes) -> str | None:
    """The decimal digits of packed BCD bytes, or ``None`` when a nibble is not 0–9."""
    digits = raw.hex()
    return digits if digits.isdigit() else None

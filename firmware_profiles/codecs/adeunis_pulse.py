"""Adeunis Pulse (two pulse inputs, A and B), over LoRaWAN and over NB-IoT.

Frame layouts from Adeunis' Pulse 4 technical reference, as implemented in the vendor's codec
published in TheThingsNetwork/lorawan-devices (vendor/adeunis/pulse_lib.js). Every frame starts
with a frame code and a status byte (bits 7–5 a frame counter, bit 2 "a timestamp ends the
frame", bit 1 low battery, bit 0 configuration done); integers are big-endian; a timestamp counts
seconds from 2013-01-01T00:00:00Z.

====  ==================================================================================
0x46  counter A (uint32), counter B (uint32)[, timestamp]
0x5A  channel A: counter now (uint32), then uint16 differences back in time[, timestamp]
0x5B  the same for channel B
0x30  keep-alive: alarm bits (flow A/B 0x01/0x02, tamper 0x04/0x08, leak 0x10/0x20), then
      24-hour flow maxima and minima (4 × uint16)[, timestamp]
0x47  flow alarm: flow A, flow B (uint16 each)[, timestamp]
0x10 0x11 0x12 0x20 0x33  configuration and command answers: no reading
====  ==================================================================================

The NB-IoT model sends the same frame behind a 13-byte header: the IMEI as 8 bytes of packed BCD,
one byte of signal quality and a 4-byte frame counter (refdata/README.md, "NB-IoT and LwM2M").

Which input feeds the meter is per installation (``CodecOptions.pulse_input``, default A). The
spacing of the 0x5A/0x5B samples is the device's configuration, not in the frame: history points
are given only when the frame has a timestamp and ``CodecOptions.history_period_s`` is set.
"""

from __future__ import annotations

from decimal import Decimal

from firmware_profiles.codecs.base import (
    Alarm,
    Bytes,
    Frame,
    HistoryPoint,
    MeterAlarm,
    bcd_digits,
)
from shared.quantities import Measurement

#: 2013-01-01T00:00:00Z in Unix seconds: Adeunis' epoch.
ADEUNIS_EPOCH_UNIX_S = 1_356_998_400
NBIOT_HEADER_LENGTH = 13
INPUTS = ("A", "B")
_CONFIGURATION_CODES = frozenset({0x10, 0x11, 0x12, 0x20, 0x33})
_TIMESTAMP_LENGTH = 4


def decode(payload: Bytes) -> Frame:
    """One Adeunis Pulse LoRaWAN frame."""
    code = payload.uint(0, 1, "frame code")
    status = payload.uint(1, 1, "status byte")
    alarms = (Alarm(MeterAlarm.LOW_BATTERY, "low battery"),) if status & 0x02 else ()
    if code in _CONFIGURATION_CODES:
        return Frame(alarms=alarms)
    body_end, time_unix_s = _timestamp(payload, status)
    wanted = _input_index(payload)
    if code == 0x46:
        return _counters(payload, body_end, wanted, alarms, time_unix_s)
    if code in (0x5A, 0x5B):
        return _channel_history(
            payload, code - 0x5A, body_end=body_end, wanted=wanted, alarms=alarms, time_unix_s=time_unix_s
        )
    if code == 0x30:
        return _keep_alive(payload, body_end, wanted, alarms, time_unix_s)
    if code == 0x47:
        return _flow_alarm(payload, body_end, wanted, alarms, time_unix_s)
    raise payload.error(0, f"frame code 0x{code:02X} is not an Adeunis Pulse frame")


def decode_nbiot(payload: Bytes) -> Frame:
    """One Adeunis Pulse NB-IoT frame: the 13-byte header, then the LoRaWAN model's frame."""
    imei = bcd_digits(payload.need(0, 8, "IMEI"))
    if imei is None:
        raise payload.error(0, f"IMEI {payload.data[:8].hex()} is not packed decimal digits")
    payload.need(8, 1, "signal quality")
    counter = payload.uint(9, 4, "frame counter")
    inner = decode(payload.tail(NBIOT_HEADER_LENGTH))
    return Frame(
        measurements=inner.measurements,
        alarms=inner.alarms,
        history=inner.history,
        device_time_unix_s=inner.device_time_unix_s,
        device_id=imei,
        frame_counter=counter,
    )


def _timestamp(payload: Bytes, status: int) -> tuple[int, int | None]:
    if not status & 0x04:
        return len(payload), None
    start = len(payload) - _TIMESTAMP_LENGTH
    if start < 2:
        raise payload.error(len(payload), "the status byte announces a timestamp the frame does not hold")
    return start, ADEUNIS_EPOCH_UNIX_S + payload.uint(start, 4, "timestamp")


def _input_index(payload: Bytes) -> int:
    name = payload.context.options.pulse_input or INPUTS[0]
    if name not in INPUTS:
        raise payload.error(0, f"pulse input {name!r} does not exist; this device has inputs A and B")
    return INPUTS.index(name)


def _exact_body(payload: Bytes, body_end: int, expected: int, what: str) -> None:
    if body_end != expected:
        raise payload.error(body_end, f"{what} has {expected} bytes before any timestamp, got {body_end}")


def _counters(
    payload: Bytes, body_end: int, wanted: int, alarms: tuple[Alarm, ...], time_unix_s: int | None
) -> Frame:
    _exact_body(payload, body_end, 10, "a 0x46 counters frame")
    count = payload.uint(2 + 4 * wanted, 4, f"counter {INPUTS[wanted]}")
    return Frame(
        measurements={Measurement.PULSE_COUNT: Decimal(count)},
        alarms=alarms,
        device_time_unix_s=time_unix_s,
    )


def _channel_history(
    payload: Bytes,
    channel: int,
    *,
    body_end: int,
    wanted: int,
    alarms: tuple[Alarm, ...],
    time_unix_s: int | None,
) -> Frame:
    if body_end < 6 or (body_end - 6) % 2:
        raise payload.error(body_end, "a channel frame is a uint32 counter then whole uint16 differences")
    counts = [payload.uint(2, 4, "counter")]
    for offset in range(6, body_end, 2):
        older = counts[-1] - payload.uint(offset, 2, "counter difference")
        if older < 0:
            raise payload.error(offset, "the differences take the counter below zero")
        counts.append(older)
    if channel != wanted:
        return Frame(alarms=alarms, device_time_unix_s=time_unix_s)
    period = payload.context.options.history_period_s
    history: tuple[HistoryPoint, ...] = ()
    if time_unix_s is not None and period is not None:
        history = tuple(
            HistoryPoint(time_unix_s - i * period, Measurement.PULSE_COUNT, Decimal(count))
            for i, count in reversed(list(enumerate(counts)))
        )
    return Frame(
        measurements={Measurement.PULSE_COUNT: Decimal(counts[0])},
        alarms=alarms,
        history=history,
        device_time_unix_s=time_unix_s,
    )


def _keep_alive(
    payload: Bytes, body_end: int, wanted: int, alarms: tuple[Alarm, ...], time_unix_s: int | None
) -> Frame:
    _exact_body(payload, body_end, 11, "a 0x30 keep-alive frame")
    bits = payload.uint(2, 1, "alarm bits")
    name = INPUTS[wanted]
    found = list(alarms)
    if bits & (0x01 << wanted):
        found.append(Alarm(MeterAlarm.BURST, f"input {name}: flow above the configured threshold"))
    if bits & (0x04 << wanted):
        found.append(Alarm(MeterAlarm.TAMPER, f"input {name}: tamper"))
    if bits & (0x10 << wanted):
        found.append(Alarm(MeterAlarm.LEAK, f"input {name}: leakage"))
    return Frame(alarms=tuple(found), device_time_unix_s=time_unix_s)


def _flow_alarm(
    payload: Bytes, body_end: int, wanted: int, alarms: tuple[Alarm, ...], time_unix_s: int | None
) -> Frame:
    _exact_body(payload, body_end, 6, "a 0x47 flow alarm frame")
    flow = payload.uint(2 + 2 * wanted, 2, f"flow {INPUTS[wanted]}")
    if flow == 0:
        # The frame reports both inputs; an input with no flow is not the one that raised it.
        return Frame(alarms=alarms, device_time_unix_s=time_unix_s)
    detail = f"input {INPUTS[wanted]}: flow alarm, {flow} pulses in the flow period"
    return Frame(alarms=(*alarms, Alarm(MeterAlarm.BURST, detail)), device_time_unix_s=time_unix_s)

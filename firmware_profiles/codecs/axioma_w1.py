"""Axioma Qalcosonic W1 ultrasonic water meter, "enhanced 24 h" frame on fPort 100.

Layout, as published with the device in TheThingsNetwork/lorawan-devices
(vendor/axioma/qalcosonic-w1-codec.yaml and its description), 51 bytes:

==========  =====================================================================
byte 0      frame version, 0x01
bytes 1–4   meter time, Unix seconds, uint32 little-endian
byte 5      status (alarm bits, below)
bytes 6–9   logged volume at the start of the day, litres, uint32 little-endian
bytes 10–50 23 hourly consumption deltas, 14 bits each in litres, packed least significant
            bit first, then a 6-bit history multiplier
==========  =====================================================================

The log point is the start of the 24-hour window and each delta closes one hour, so the points
fall on the 24 whole hours ending at the whole hour of the meter time (the published example: meter
time 23:09:34, log at 00:00, last delta at 23:00). The frame's volume (the vendor's "current
volume") is the logged volume plus the 23 deltas: the register at that last whole hour, not at the
meter time, so the frame says it was measured then (``measured_at_unix_s``). Read at the time the
frame was sent instead, it would hold an hour-old register, and the next frame's point at the
following whole hour would put an hour's water into the minutes between. The gateway fills gaps
from these points; they are absolute register values, so a point it already holds is the same
value again, never consumption billed twice.

A non-zero history multiplier means the deltas are scaled in a way the description does not give:
refused, not guessed.
"""

from __future__ import annotations

from decimal import Decimal

from firmware_profiles.codecs.base import Alarm, Bytes, Frame, HistoryPoint, MeterAlarm
from shared.quantities import Measurement

FRAME_LENGTH = 51
FRAME_VERSION = 0x01
DELTA_COUNT = 23
_DELTA_BITS = 14
_DELTA_START = 10
_HOUR_S = 3600


def decode(payload: Bytes) -> Frame:
    """The volume at the last whole hour (litres) and that hour, the day's hourly volumes as history,
    the meter time and its alarms."""
    payload.exact_length(FRAME_LENGTH, "a Qalcosonic W1 enhanced 24 h frame")
    version = payload.uint(0, 1, "frame version")
    if version != FRAME_VERSION:
        raise payload.error(0, f"frame version 0x{version:02X} is not 0x{FRAME_VERSION:02X}")
    meter_time = payload.uint(1, 4, "meter time", little=True)
    status = payload.uint(5, 1, "status")
    log_volume = payload.uint(6, 4, "logged volume", little=True)
    packed = payload.uint(_DELTA_START, FRAME_LENGTH - _DELTA_START, "hourly deltas", little=True)
    multiplier = packed >> (DELTA_COUNT * _DELTA_BITS)
    if multiplier != 0:
        raise payload.error(
            FRAME_LENGTH - 1, f"history multiplier {multiplier} is not 0; its scaling is not published"
        )
    mask = (1 << _DELTA_BITS) - 1
    deltas = [(packed >> (i * _DELTA_BITS)) & mask for i in range(DELTA_COUNT)]
    last_hour = meter_time - meter_time % _HOUR_S
    first_hour = last_hour - DELTA_COUNT * _HOUR_S
    volumes = [log_volume]
    for delta in deltas:
        volumes.append(volumes[-1] + delta)
    history = tuple(
        HistoryPoint(first_hour + i * _HOUR_S, Measurement.VOLUME_L, Decimal(volume))
        for i, volume in enumerate(volumes)
    )
    return Frame(
        measurements={Measurement.VOLUME_L: Decimal(volumes[-1])},
        alarms=status_alarms(status),
        history=history,
        device_time_unix_s=meter_time,
        measured_at_unix_s=last_hour,
    )


def status_alarms(status: int) -> tuple[Alarm, ...]:
    """The alarms of a W1 status byte, as the published codec reads its bits.

    0x04 low battery, 0x08 permanent error, 0x10 temporary error (alone: the pipe is empty),
    0x20 leak; with 0x40 it is backflow and with 0x80 a burst; 0x80 without 0x20 is frost.
    Bits 0x01 and 0x02 are not described and are not reported.
    """
    alarms: list[Alarm] = []
    if status & 0x04:
        alarms.append(Alarm(MeterAlarm.LOW_BATTERY, "low battery"))
    if status & 0x08:
        alarms.append(Alarm(MeterAlarm.METER_FAULT, "permanent error"))
    if status == 0x10:
        alarms.append(Alarm(MeterAlarm.DRY, "pipe empty"))
    elif status & 0x10:
        alarms.append(Alarm(MeterAlarm.METER_FAULT, "temporary error"))
    backflow = status & 0x60 == 0x60
    burst = status & 0xA0 == 0xA0
    if backflow:
        alarms.append(Alarm(MeterAlarm.REVERSE_FLOW, "backflow"))
    if burst:
        alarms.append(Alarm(MeterAlarm.BURST, "burst"))
    if status & 0x20 and not backflow and not burst:
        alarms.append(Alarm(MeterAlarm.LEAK, "leakage"))
    if status & 0x80 and not burst:
        alarms.append(Alarm(MeterAlarm.FROST, "low temperature"))
    return tuple(alarms)

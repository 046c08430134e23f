"""One decoded uplink into the billing pipeline: history that fills a gap, the reading, alarms, relay.

Both radio bridges (LoRaWAN and NB-IoT) :func:`decode` every frame; one that does not decode goes to
:func:`report_decode_error` (a ``decode_error`` alarm and nothing else), a decoded one (after the
bridge's relay actuator has seen its relay state) to :func:`deliver`, and becomes, in this order:

1. its history points (register values the meter logged) that fall strictly between the meter's
   last billed reading and this frame, oldest first, one reading per logged instant: they fill a
   gap left by lost uplinks. Points at or before the last billed reading are already accounted for
   and are skipped, so nothing is billed twice; a meter never read before has no gap to fill;
2. the frame's own reading, dated when its measurements were taken: when the frame was received,
   or earlier when the frame says so (a W1 sends the register it logged at the last whole hour).
   A frame whose reading is not newer than the last billed reading is one handled before (e.g.
   redelivered after a restart), or a logging meter's frame within the same whole hour, which
   says nothing new: nothing of it is delivered again;
3. one alarm per condition the meter reports (tamper, leak, ...);
4. the relay state, when the frame reports it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from firmware_profiles import DecodedUplink, DecodeError, DecodeOptions, Profile, decode_uplink
from shared.journal import AlarmKind, ReadingSource
from shared.quantities import Measurement

log = logging.getLogger(__name__)

#: The journal's limit for an alarm's detail text.
MAX_DETAIL_CHARS = 1000


@dataclass(frozen=True, slots=True)
class RadioMeter:
    """A configured meter that sends frames: its id, model and the options its frames need."""

    meter_id: str
    profile: Profile
    options: DecodeOptions = field(default_factory=DecodeOptions)


class RadioSink(Protocol):
    """What a radio bridge needs from the gateway (the daemon implements it, e.g. ``BillingSink``)."""

    async def on_reading(
        self,
        meter_id: str,
        measurements: dict[Measurement, Decimal],
        read_at: datetime,
        source: ReadingSource,
    ) -> None:
        """Journal, rate and charge one reading (``BillingService.on_reading``)."""

    def last_read_at(self, meter_id: str) -> datetime | None:
        """When the meter's last billed reading was taken (``None`` before its first)."""

    async def on_alarm(self, meter_id: str, kind: AlarmKind, detail: str) -> None:
        """Journal an alarm about the meter."""

    async def on_relay_state(self, meter_id: str, closed: bool, observed_at: datetime) -> None:
        """The meter reported its relay's state in an uplink."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """What one frame turned into, for health counters and tests."""

    readings: int = 0
    gap_points: int = 0
    skipped_points: int = 0
    repeat: bool = False
    alarms: int = 0
    relay_closed: bool | None = None
    decode_error: str | None = None


def planned_readings(
    decoded: DecodedUplink, read_at: datetime, last_read_at: datetime | None
) -> tuple[list[tuple[datetime, dict[Measurement, Decimal]]], int, bool]:
    """The readings to feed, oldest first; how many history points were skipped; whether the
    frame's own reading is a repeat. Pure.

    The frame's reading is dated at ``read_at`` (its reception), or at the earlier instant the
    codec says its measurements were taken (``measured_at_unix_s``). Before a meter's first reading
    there is no gap: consumption before the baseline is not billed, so its history is skipped. A
    point at or after the frame's own time or its reading's is the frame's reading.
    """
    own_at = read_at
    if decoded.measured_at_unix_s is not None:
        own_at = min(own_at, datetime.fromtimestamp(decoded.measured_at_unix_s, UTC))
    newest = own_at
    if decoded.device_time_unix_s is not None:
        newest = min(newest, datetime.fromtimestamp(decoded.device_time_unix_s, UTC))
    by_instant: dict[datetime, dict[Measurement, Decimal]] = {}
    skipped = 0
    for point in decoded.history:
        at = datetime.fromtimestamp(point.at_unix_s, UTC)
        if last_read_at is None or at <= last_read_at or at >= newest:
            skipped += 1
            continue
        by_instant.setdefault(at, {})[point.measurement] = point.value
    readings = sorted(by_instant.items())
    repeat = last_read_at is not None and own_at <= last_read_at
    if decoded.measurements and not repeat:
        readings.append((own_at, dict(decoded.measurements)))
    return readings, skipped, repeat


async def deliver(
    sink: RadioSink, meter_id: str, decoded: DecodedUplink, read_at: datetime, source: ReadingSource
) -> Delivery:
    """Feed one decoded frame to the sink (see the module's docstring for the order)."""
    readings, skipped, repeat = planned_readings(decoded, read_at, sink.last_read_at(meter_id))
    if repeat:  # handled before, alarms and relay state included: nothing is journalled twice
        log.info(
            "meter %s: frame read at %s is not newer than the last billed reading; skipped",
            meter_id,
            read_at.isoformat(),
        )
        return Delivery(skipped_points=skipped, repeat=True)
    for at, measurements in readings:
        await sink.on_reading(meter_id, measurements, at, source)
    for alarm in decoded.alarms:
        await sink.on_alarm(meter_id, alarm.kind, alarm.detail[:MAX_DETAIL_CHARS])
    if decoded.relay_closed is not None:
        await sink.on_relay_state(meter_id, decoded.relay_closed, read_at)
    return Delivery(
        readings=len(readings),
        gap_points=len(readings) - (1 if decoded.measurements else 0),
        skipped_points=skipped,
        alarms=len(decoded.alarms),
        relay_closed=decoded.relay_closed,
    )


def decode(meter: RadioMeter, f_port: int | None, payload: bytes) -> DecodedUplink | str:
    """The decoded frame, or the reason it cannot be decoded (naming model, port and offset)."""
    try:
        return decode_uplink(meter.profile, f_port, payload, options=meter.options)
    except DecodeError as error:
        return str(error)


async def report_decode_error(
    sink: RadioSink, meter_id: str, payload: bytes, reason: str, source: ReadingSource
) -> Delivery:
    """Journal a frame that did not decode as a ``decode_error`` alarm; it is never a reading."""
    what = f"{source} frame {payload.hex()[:200]}" if payload else f"{source} uplink"
    detail = f"{what}: {reason}"[:MAX_DETAIL_CHARS]
    await sink.on_alarm(meter_id, AlarmKind.DECODE_ERROR, detail)
    log.warning("meter %s: %s", meter_id, detail)
    return Delivery(decode_error=reason)

"""Milesight channel/type frames: the one loop; each model's channels are data in its profile.

A Milesight uplink is a run of entries ``channel (1 byte) · type (1 byte) · value``, integers
little-endian, where the (channel, type) pair fixes the value's size and meaning (Milesight's
"Uplink Data" tables, e.g. milesight.com/products/docs/en/ws52x/protocol/ws5xx/ws52x-uplink.html).
An entry the profile does not list cannot be skipped, because only the table knows its size: it
is a decode error naming the offset, never a guess at where the next entry starts.
"""

from __future__ import annotations

from decimal import Decimal

from firmware_profiles.codecs.base import Bytes, Frame, TlvChannel
from firmware_profiles.modbus.fields import integral_if_whole
from shared.quantities import Measurement


def decode(payload: Bytes) -> Frame:
    """Every listed entry of a Milesight frame; measurements and relay states in our terms."""
    if len(payload) == 0:
        raise payload.error(0, "empty payload: a Milesight frame has at least one channel entry")
    measurements: dict[Measurement, Decimal] = {}
    relays: dict[str, bool] = {}
    offset = 0
    while offset < len(payload):
        channel_id = payload.uint(offset, 1, "channel id")
        type_id = payload.uint(offset + 1, 1, f"type of channel 0x{channel_id:02X}")
        entry = payload.context.channels.get((channel_id, type_id))
        if entry is None:
            raise payload.error(
                offset, f"channel 0x{channel_id:02X} type 0x{type_id:02X} is not in this model's table"
            )
        _read_entry(payload, offset + 2, entry, measurements, relays)
        offset += 2 + entry.size
    return Frame(measurements=measurements, relay_states=relays)


def _read_entry(
    payload: Bytes,
    offset: int,
    entry: TlvChannel,
    measurements: dict[Measurement, Decimal],
    relays: dict[str, bool],
) -> None:
    name = f"channel 0x{entry.channel:02X} type 0x{entry.type_id:02X}"
    payload.need(offset, entry.size, name)
    if entry.reader is None:
        return  # device information (versions, serial number): checked for length, not used
    raw = entry.reader(payload, offset)
    if entry.relay_output is not None:
        if raw not in (0, 1):
            raise payload.error(offset, f"{name}: relay state {raw} is neither 0 (off) nor 1 (on)")
        relays[entry.relay_output] = raw == 1
    elif entry.measurement is not None:
        if entry.measurement in measurements:
            raise payload.error(offset - 2, f"{name}: {entry.measurement} appears twice in one frame")
        measurements[entry.measurement] = integral_if_whole(Decimal(raw) * entry.factor)

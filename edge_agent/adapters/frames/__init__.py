"""What the LoRaWAN and NB-IoT bridges share: frames into readings, the sink, dedup, settings.

A bridge decodes each frame with the meter's firmware profile (:func:`decode`) and delivers it
(:func:`deliver`) to a :class:`RadioSink`: history points that fill a gap, then the reading, in
time order, never anything at or before the meter's last billed reading; alarms; the relay state.
A frame that does not decode is a ``decode_error`` alarm (:func:`report_decode_error`), never a
reading. :class:`BillingSink` is the sink over the gateway's billing service and relay controller.
"""

from edge_agent.adapters.frames.backoff import Backoff
from edge_agent.adapters.frames.dedup import CounterWindow, RecentIds
from edge_agent.adapters.frames.errors import (
    CommandNotDelivered,
    RadioError,
    RadioSettingsError,
    RadioTimeout,
)
from edge_agent.adapters.frames.feed import (
    Delivery,
    RadioMeter,
    RadioSink,
    decode,
    deliver,
    planned_readings,
    report_decode_error,
)

__all__ = [
    "Backoff",
    "CommandNotDelivered",
    "CounterWindow",
    "Delivery",
    "RadioError",
    "RadioMeter",
    "RadioSettingsError",
    "RadioSink",
    "RadioTimeout",
    "RecentIds",
    "decode",
    "deliver",
    "planned_readings",
    "report_decode_error",
]

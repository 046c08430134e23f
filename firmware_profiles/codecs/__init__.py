"""Payload codecs: one small module per model family whose frames need code.

:data:`CODECS` maps the name a profile file gives in ``codec = "…"`` to the function and to what
it can produce, so the loader can check a profile against its codec before any payload arrives.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware_profiles.codecs import adeunis_pulse, axioma_w1, dragino_lt22222, kamstrup_wmbus, milesight
from firmware_profiles.codecs.base import Codec
from firmware_profiles.schema import Transport
from shared.quantities import Measurement


@dataclass(frozen=True, slots=True)
class CodecInfo:
    """A codec and what it can yield; a table-driven codec yields what the profile's table lists."""

    decode: Codec
    transport: Transport
    measurements: frozenset[Measurement] = frozenset()
    relay_outputs: frozenset[str] = frozenset()
    #: The pulse inputs it counts on, the default first; empty when it counts no pulses.
    pulse_inputs: tuple[str, ...] = ()
    table_driven: bool = False


_PULSES = frozenset({Measurement.PULSE_COUNT})
_VOLUME = frozenset({Measurement.VOLUME_L})

CODECS: dict[str, CodecInfo] = {
    "milesight": CodecInfo(milesight.decode, Transport.LORAWAN, table_driven=True),
    "dragino-lt22222": CodecInfo(
        dragino_lt22222.decode,
        Transport.LORAWAN,
        measurements=_PULSES,
        relay_outputs=frozenset({"RO1", "RO2"}),
        pulse_inputs=("DI1",),
    ),
    "axioma-w1": CodecInfo(axioma_w1.decode, Transport.LORAWAN, measurements=_VOLUME),
    "adeunis-pulse": CodecInfo(
        adeunis_pulse.decode, Transport.LORAWAN, measurements=_PULSES, pulse_inputs=adeunis_pulse.INPUTS
    ),
    "adeunis-pulse-nbiot": CodecInfo(
        adeunis_pulse.decode_nbiot, Transport.NBIOT, measurements=_PULSES, pulse_inputs=adeunis_pulse.INPUTS
    ),
    "kamstrup-wmbus": CodecInfo(kamstrup_wmbus.decode, Transport.WMBUS, measurements=_VOLUME),
}

"""Dragino LT-22222-L / LT-33222-L I/O controller: relay outputs and pulse counters.

Layout from Dragino's LT-22222-L user manual (wiki.dragino.com, "Uplink Payload"): fPort 2, 11
bytes; byte 10 holds the hardware variant in bits 7–6 and the working mode (1–6) in bits 5–0;
byte 8 (DIDORO) holds RO1 in bit 7 and RO2 in bit 6 (1 = closed) in modes 1–5. Modes 2, 3 and 4
carry the DI1 pulse counter COUNT1 as a big-endian uint32 in bytes 0–3. Mode 5's counter is 16
bits and wraps 65 536 times sooner, so it is not reported as the billing counter (a wrap would
look like a meter replacement). Mode 6 (trigger report) carries no relay state.
"""

from __future__ import annotations

from decimal import Decimal

from firmware_profiles.codecs.base import Bytes, Frame
from shared.quantities import Measurement

UPLINK_LENGTH = 11
_MODES_WITH_RELAYS = frozenset({1, 2, 3, 4, 5})
_MODES_WITH_COUNT1 = frozenset({2, 3, 4})
#: Bits 7–6 of byte 10: 0 is an LT-33222-L, 1 an LT-22222-L; nothing else is defined.
_HARDWARE_VARIANTS = frozenset({0, 1})


def decode(payload: Bytes) -> Frame:
    """Relay states (RO1, RO2) and, in counting modes, DI1's pulse count."""
    payload.exact_length(UPLINK_LENGTH, "an LT-22222-L uplink")
    last = payload.uint(10, 1, "mode byte")
    hardware, mode = last >> 6, last & 0x3F
    if hardware not in _HARDWARE_VARIANTS:
        raise payload.error(10, f"hardware variant {hardware} is not defined (0 or 1)")
    if not 1 <= mode <= 6:
        raise payload.error(10, f"working mode {mode} is not defined (1–6)")
    measurements: dict[Measurement, Decimal] = {}
    relays: dict[str, bool] = {}
    if mode in _MODES_WITH_RELAYS:
        didoro = payload.uint(8, 1, "DIDORO status byte")
        relays = {"RO1": bool(didoro & 0x80), "RO2": bool(didoro & 0x40)}
    if mode in _MODES_WITH_COUNT1:
        measurements[Measurement.PULSE_COUNT] = Decimal(payload.uint(0, 4, "COUNT1"))
    return Frame(measurements=measurements, relay_states=relays)

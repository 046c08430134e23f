"""Pure transforms from 16-bit register words to exact numbers.

Every multi-word type is big-endian with the high word first (Modbus' own register order, and
what Eastron and Hiking meters use). A float32 becomes the *shortest* decimal that converts back
to the same float32, so a meter showing 0.97 gives ``Decimal("0.97")``, not the float's binary
approximation 0.9700000286102295.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import lru_cache

from firmware_profiles.schema import DataType

_FLOAT32 = struct.Struct(">f")
_UINT32 = struct.Struct(">I")
#: float32 carries 6 to 9 significant decimal digits; 9 always round-trips.
_FLOAT32_MAX_DIGITS = 9
_ZERO = Decimal(0)


class WordError(ValueError):
    """Register words that do not hold a value of the declared type; the caller adds context."""


def _word(registers: Sequence[int], index: int) -> int:
    word = registers[index]
    if not isinstance(word, int) or not 0 <= word <= 0xFFFF:
        raise WordError(f"register word {word!r} is not a 16-bit unsigned value (0–65535)")
    return word


def _dword(registers: Sequence[int], offset: int) -> int:
    return (_word(registers, offset) << 16) | _word(registers, offset + 1)


def read_uint16(registers: Sequence[int], offset: int) -> Decimal:
    """One register as an unsigned integer."""
    return Decimal(_word(registers, offset))


def read_int16(registers: Sequence[int], offset: int) -> Decimal:
    """One register as a two's-complement signed integer (65534 is -2)."""
    word = _word(registers, offset)
    return Decimal(word - 0x10000 if word & 0x8000 else word)


def read_uint32(registers: Sequence[int], offset: int) -> Decimal:
    """Two registers, high word first, as an unsigned integer."""
    return Decimal(_dword(registers, offset))


def read_int32(registers: Sequence[int], offset: int) -> Decimal:
    """Two registers, high word first, as a two's-complement signed integer."""
    value = _dword(registers, offset)
    return Decimal(value - 0x1_0000_0000 if value & 0x8000_0000 else value)


def read_float32(registers: Sequence[int], offset: int) -> Decimal:
    """Two registers, high word first, as an IEEE-754 float32, as its shortest exact decimal."""
    return float32_bits_to_decimal(_dword(registers, offset))


@lru_cache(maxsize=8192)
def float32_bits_to_decimal(bits: int) -> Decimal:
    """The shortest decimal that converts back to the float32 with these 32 bits.

    Cached because meters repeat themselves (voltage, frequency, an idle energy register): the
    gateway decodes the same bit patterns thousands of times a second. NaN and infinities are
    refused with :class:`WordError`: no meter reading is "not a number".
    """
    (value,) = _FLOAT32.unpack(_UINT32.pack(bits))
    if not math.isfinite(value):
        raise WordError(f"register words hold a float32 {value} (bits 0x{bits:08X}), not a number")
    if value == 0:
        return _ZERO  # also for -0.0: a reading of "-0" would only confuse a person
    for digits in range(1, _FLOAT32_MAX_DIGITS + 1):
        text = f"{value:.{digits}g}"
        if _FLOAT32.unpack(_FLOAT32.pack(float(text)))[0] == value:
            return Decimal(text)
    raise AssertionError(f"float32 {value!r} did not round-trip in {_FLOAT32_MAX_DIGITS} digits")


WordReader = Callable[[Sequence[int], int], Decimal]

#: The reader for each data type: ``reader(registers, offset)`` decodes the value at ``offset``.
READERS: dict[DataType, WordReader] = {
    DataType.FLOAT32: read_float32,
    DataType.UINT16: read_uint16,
    DataType.INT16: read_int16,
    DataType.UINT32: read_uint32,
    DataType.INT32: read_int32,
}

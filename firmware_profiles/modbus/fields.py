"""A register map entry compiled at load time into everything decoding needs.

The gateway decodes thousands of reads a second, so the unit factor and the word reader are
worked out once per profile, not once per read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from firmware_profiles.errors import DecodeError
from firmware_profiles.modbus.words import WordError, WordReader
from firmware_profiles.schema import DataType, RegisterTable
from shared.quantities import Measurement


@dataclass(frozen=True, slots=True)
class RegisterField:
    """One measurement's register(s), ready to decode into our unit."""

    model_id: str
    measurement: Measurement
    table: RegisterTable
    address: int
    data_type: DataType
    factor: Decimal
    reader: WordReader

    @property
    def width(self) -> int:
        """How many registers the value occupies."""
        return self.data_type.width

    @property
    def end(self) -> int:
        """The address just past this field's last register."""
        return self.address + self.data_type.width

    def decode(self, registers: Sequence[int], offset: int) -> Decimal:
        """The value at ``registers[offset:offset + width]`` in our unit, exactly.

        Integral results are returned without a fractional part (1234.5 kWh → ``1234500`` Wh, not
        ``1234500.0``), so a reading never claims a resolution the meter does not have.
        """
        try:
            raw = self.reader(registers, offset)
        except (WordError, TypeError) as error:
            raise DecodeError(f"{self.where()}: {error}") from None
        return integral_if_whole(raw * self.factor)

    def where(self) -> str:
        """Model, measurement and address, for messages a person can act on."""
        return f"{self.model_id}: {self.measurement} at {self.table} register 0x{self.address:04X}"


def integral_if_whole(value: Decimal) -> Decimal:
    """``value`` without fractional zeros when it is a whole number (``Decimal("10.00")`` → ``10``)."""
    integral = value.to_integral_value()
    return integral if integral == value else value

"""What one poll of a meter produced: its measurements, or why there are none."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from edge_agent.adapters.modbus.errors import FailureKind
from edge_agent.adapters.modbus.health import HealthTransition
from shared.quantities import Measurement


@dataclass(frozen=True, slots=True)
class ReadFailure:
    """Why a meter could not be read: the kind, a message naming meter and register, the code."""

    kind: FailureKind
    detail: str
    #: The Modbus exception code the meter answered, for ``FailureKind.EXCEPTION`` only.
    exception_code: int | None = None


@dataclass(frozen=True, slots=True)
class MeterReading:
    """One poll of one meter.

    ``values`` holds every measurement read, in our vocabulary and units, as exact ``Decimal``;
    it is empty when ``failure`` is set. ``read_at`` is when the last answer arrived (or the poll
    failed). ``transition`` is set when this poll changed the meter's communication health.
    """

    meter_id: str
    read_at: datetime
    values: Mapping[Measurement, Decimal]
    failure: ReadFailure | None = None
    transition: HealthTransition | None = None

    @property
    def ok(self) -> bool:
        """Whether the meter answered every planned read."""
        return self.failure is None

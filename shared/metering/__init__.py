"""Billing registers: turning successive cumulative readings into consumption or alarms.

Pure functions over immutable values: :func:`start_register` makes a baseline,
:func:`advance_register` compares a reading with it, :func:`replace_meter` closes one meter's
register and starts the next. The gateway stores each returned :class:`RegisterState` and can
replay readings through the same functions to reach the same result.
"""

from shared.metering.delta import (
    Consumption,
    MeterReplacement,
    RegisterAlarm,
    RegisterStep,
    advance_register,
    replace_meter,
)
from shared.metering.errors import MeteringError
from shared.metering.register import (
    RegisterAlarmKind,
    RegisterSpec,
    RegisterState,
    start_register,
    supply_max_rate_per_h,
)

__all__ = [
    "Consumption",
    "MeterReplacement",
    "MeteringError",
    "RegisterAlarm",
    "RegisterAlarmKind",
    "RegisterSpec",
    "RegisterState",
    "RegisterStep",
    "advance_register",
    "replace_meter",
    "start_register",
    "supply_max_rate_per_h",
]

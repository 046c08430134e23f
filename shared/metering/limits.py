"""How fast a supply can plausibly advance a billing register, per utility.

The gateway bills with these limits and the cloud re-derives the same quantities from the same
readings, so both must read them from one place.
"""

from __future__ import annotations

from decimal import Decimal

from shared.quantities import Utility

#: The most a register may plausibly advance per hour; a faster jump is an alarm, not a bill.
#: Electricity: a 100 A three-phase supply (3 x 100 A x 230 V = 69 kW) bounds single- and
#: three-phase units alike. Water: 10 kL/h, far above a household's 25 mm connection.
MAX_RATE_PER_HOUR: dict[Utility, Decimal] = {
    Utility.ELECTRICITY: Decimal(69_000),
    Utility.SOLAR: Decimal(69_000),
    Utility.WATER: Decimal(10_000),
    Utility.HOT_WATER: Decimal(10_000),
}

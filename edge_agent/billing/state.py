"""What the gateway remembers per billed meter between readings, stored as JSON in ``meter_state``."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from shared.credit import PolicyState
from shared.metering import RegisterState
from shared.money import ZERO
from shared.tariffs import MonthToDate


class MeterBillingState(msgspec.Struct, frozen=True, kw_only=True):
    """The register baseline, month-to-date consumption, sub-cent carry and credit-policy state.

    ``register`` is ``None`` until the meter's first reading sets the baseline; nothing is billed
    for the consumption before it. ``serial`` is the serial of the meter the baseline was read
    from (``None`` until the configuration names one): a different serial in the configuration is
    a meter replacement.
    """

    register: RegisterState | None = None
    serial: str | None = None
    month_to_date: MonthToDate | None = None
    carry: Decimal = ZERO
    policy: PolicyState = msgspec.field(default_factory=PolicyState)


_ENCODER = msgspec.json.Encoder(decimal_format="string")
_DECODER = msgspec.json.Decoder(MeterBillingState)


def encode_state(state: MeterBillingState) -> str:
    """The state as the JSON text stored in ``meter_state.state``."""
    return _ENCODER.encode(state).decode()


def decode_state(text: str | None) -> MeterBillingState:
    """The stored state, or a fresh one for a meter never billed."""
    return MeterBillingState() if text is None else _DECODER.decode(text)

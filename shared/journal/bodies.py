"""What a journal entry can say: one tagged struct per kind of fact.

Each body is a frozen msgspec Struct tagged by ``type`` in the canonical encoding. Every field of
this first version is required (optional ones take ``None`` explicitly), so an entry's bytes say
everything about it. A field added later must have a default and is omitted while it holds that
default (``omit_defaults``), so entries written before it keep their bytes and their hashes.

Quantities and registers are ``Decimal`` in base units (Wh for energy, litres for volume), money
is integer cents, times are timezone-aware datetimes.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Annotated

import msgspec

from shared.journal.errors import JournalError
from shared.quantities import Measurement, Utility

#: An identifier of a meter, wallet or command: printable, bounded, never empty.
Identifier = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
#: A moment in time; decoding refuses one without a UTC offset.
Instant = Annotated[datetime, msgspec.Meta(tz=True)]
#: A journal sequence number (the first entry of a gateway is 1).
Seq = Annotated[int, msgspec.Meta(ge=1)]
#: Longest free text for people (alarm details, refusal reasons); bounded so entries stay small.
MAX_DETAIL_CHARS = 1000
Detail = Annotated[str, msgspec.Meta(max_length=MAX_DETAIL_CHARS)]
#: A calendar month, ``YYYY-MM``, in the estate's time zone.
Month = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
#: A SHA-256 digest in lowercase hex.
HexDigest = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]


class Pocket(enum.StrEnum):
    """A wallet pocket: one per utility, plus a shared pocket any utility may draw on."""

    ELECTRICITY = Utility.ELECTRICITY.value
    WATER = Utility.WATER.value
    HOT_WATER = Utility.HOT_WATER.value
    SOLAR = Utility.SOLAR.value
    SHARED = "shared"

    @classmethod
    def for_utility(cls, utility: Utility) -> Pocket:
        """The pocket dedicated to ``utility``."""
        return cls(utility.value)


# A new Utility must get its pocket here too, or wallets could not pay for it.
assert {p.value for p in Pocket} == {u.value for u in Utility} | {"shared"}


class ReadingSource(enum.StrEnum):
    """The path a reading came in by."""

    MODBUS = "modbus"
    LORAWAN = "lorawan"
    NBIOT = "nbiot"


class RelayAction(enum.StrEnum):
    """What a relay command asks for: ``open`` cuts supply, ``close`` restores it."""

    OPEN = "open"
    CLOSE = "close"


class RelayReason(enum.StrEnum):
    """Why a relay command was given."""

    CREDIT_EXHAUSTED = "credit_exhausted"
    CREDIT_RESTORED = "credit_restored"
    OPERATOR = "operator"
    INSTALLER_TEST = "installer_test"


class AlarmKind(enum.StrEnum):
    """The kinds of trouble the gateway reports."""

    TAMPER = "tamper"
    LEAK = "leak"
    REVERSE_REGISTER = "reverse_register"
    REVERSE_FLOW = "reverse_flow"
    COMMUNICATION_LOST = "communication_lost"
    COMMUNICATION_RESTORED = "communication_restored"
    DECODE_ERROR = "decode_error"
    RELAY_NOT_CONFIRMED = "relay_not_confirmed"
    LOW_BATTERY = "low_battery"
    WATER_DEBT_CAP_REACHED = "water_debt_cap_reached"
    LOW_CREDIT = "low_credit"
    """The wallet pocket fell below the policy's low-credit warning level."""
    IMPLAUSIBLE_READING = "implausible_reading"
    """The register jumped further than the supply could deliver, or left its declared range."""
    STALE_READING = "stale_reading"
    """The meter reported a reading time at or before the previous one."""
    BURST = "burst"
    """A water meter reports a burst: flow far above normal, a pipe may have failed."""
    DRY = "dry"
    """A water meter reports an empty pipe: it cannot measure."""
    METER_FAULT = "meter_fault"
    """The meter reports a hardware fault of its own."""
    FROST = "frost"
    """A water meter reports a temperature that risks freezing."""
    SYNC_REFUSED = "sync_refused"
    """The cloud refused a journal batch as a broken chain: the journals disagree (gateway-wide)."""
    CONFIG_REFUSED = "config_refused"
    """A configuration document from the cloud failed the gateway's checks and was not applied."""
    AWAITING_BALANCE = "awaiting_balance"
    """A wallet pocket's balance has never arrived from the cloud: its relays are not switched for
    credit until it does (gateway-wide; the detail names the pocket)."""
    OPERATOR_HOLD = "operator_hold"
    """An operator's command holds the meter's relay open or closed: credit control leaves it."""
    OPERATOR_HOLD_RELEASED = "operator_hold_released"
    """The operator's hold ended: credit control switches the relay again."""


class EntryBody(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    tag_field="type",
    forbid_unknown_fields=True,
    omit_defaults=True,
):
    """Base of every entry body; the ``type`` tag names the kind of fact."""


class Reading(EntryBody, frozen=True, kw_only=True, tag="reading"):
    """A meter was read.

    ``read_at`` is when the meter (or its radio) says the values were taken; the entry's
    ``recorded_at`` is when the gateway wrote them down. ``measurements`` holds every value
    decoded, in the vocabulary's units. ``billing_register`` is the cumulative register the meter
    is billed from (``shared.quantities.BILLING_REGISTER``) in base units, or ``None`` for a meter
    without one (a relay-only device, a sensor).
    """

    meter_id: Identifier
    read_at: Instant
    source: ReadingSource
    measurements: dict[Measurement, Decimal]
    billing_register: Decimal | None


class Charge(EntryBody, frozen=True, kw_only=True, tag="charge"):
    """Consumption over an interval was rated and deducted from a wallet pocket.

    ``reading_seq`` is the seq of the reading entry that caused the charge (``None`` for a
    standing charge, which no reading causes). ``quantity`` is the consumption in the interval in
    base units; ``band`` is the tariff band, block or charge line it was priced in (a reading that
    crosses a boundary yields one charge per part). ``amount_cents`` is what was deducted.

    The rest lets the cloud re-rate the charge exactly: the tariff version, the month-to-date
    state before this interval (``month`` in the estate's time zone and the base-unit
    ``month_to_date_quantity_before``) and the meter's sub-cent ``carry_before`` in currency units
    (see ``shared.money.charge_with_carry``).
    """

    meter_id: Identifier
    wallet_id: Identifier
    utility: Utility
    pocket: Pocket
    reading_seq: Seq | None
    interval_start: Instant
    interval_end: Instant
    quantity: Decimal
    band: Identifier
    tariff_version: Identifier
    amount_cents: int
    month: Month
    month_to_date_quantity_before: Decimal
    carry_before: Decimal

    def __post_init__(self) -> None:
        if self.interval_end < self.interval_start:
            raise JournalError(
                f"charge for meter {self.meter_id}: interval_end {self.interval_end.isoformat()} is "
                f"before interval_start {self.interval_start.isoformat()}"
            )
        if self.quantity < 0:
            # A register that goes backwards raises an alarm; it is never billed as negative.
            raise JournalError(
                f"charge for meter {self.meter_id}: quantity must be >= 0 base units, got {self.quantity}"
            )


class RelayCommand(EntryBody, frozen=True, kw_only=True, tag="relay_command"):
    """The gateway decided to switch a relay; journaled before the command is sent.

    ``command_id`` is created by whoever decided (the gateway, or the cloud for an operator's
    command) and is reused on every retry, so a meter or the cloud can recognise a resend.
    """

    meter_id: Identifier
    command_id: Identifier
    action: RelayAction
    reason: RelayReason


class RelayStateConfirmed(EntryBody, frozen=True, kw_only=True, tag="relay_state"):
    """A meter reported its relay's state; the only evidence that a relay switched.

    ``command_id`` names the command this confirms, or is ``None`` for a state read back without
    one (a routine poll, a manual switch at the meter). ``closed`` is true when supply is on.
    """

    meter_id: Identifier
    command_id: Identifier | None
    closed: bool
    observed_at: Instant


class Alarm(EntryBody, frozen=True, kw_only=True, tag="alarm"):
    """Something is wrong (or well again); ``meter_id`` is ``None`` for a gateway-wide alarm."""

    meter_id: Identifier | None
    kind: AlarmKind
    detail: Detail


class CreditApplied(EntryBody, frozen=True, kw_only=True, tag="credit_applied"):
    """The gateway took a balance the cloud reported for a pocket.

    ``cloud_balance_cents`` is the cloud's balance with this gateway's charges posted through
    ``posted_through_seq``; ``cached_balance_cents`` is the balance the gateway enforces from now
    on (``shared.sync.cached_balance_cents``).
    """

    wallet_id: Identifier
    pocket: Pocket
    cloud_balance_cents: int
    posted_through_seq: Annotated[int, msgspec.Meta(ge=0)]
    cached_balance_cents: int


class ConfigApplied(EntryBody, frozen=True, kw_only=True, tag="config_applied"):
    """The gateway started using config ``version``; ``digest`` is SHA-256 of the config as received."""

    version: Annotated[int, msgspec.Meta(ge=0)]
    digest: HexDigest


class MeterReplaced(EntryBody, frozen=True, kw_only=True, tag="meter_replaced"):
    """A physical meter was swapped at a metering point; billing continues from the new register.

    ``meter_id`` is the metering point and stays the same. The old meter's final register and the
    new one's first register (both base units) set the baseline, so the drop between them is
    never taken for a register going backwards.
    """

    meter_id: Identifier
    old_serial: Identifier
    new_serial: Identifier
    old_final_register: Decimal
    new_first_register: Decimal
    replaced_at: Instant


#: Any entry body; msgspec picks the struct by the ``type`` tag.
Body = (
    Reading
    | Charge
    | RelayCommand
    | RelayStateConfirmed
    | Alarm
    | CreditApplied
    | ConfigApplied
    | MeterReplaced
)

"""Credit-control policy parameters and the values the state machine reads and writes.

All amounts are integer cents compared against the wallet's *available credit*:
``balance + credit limit``. With the default credit limit of 0 that is simply the balance.
"""

from __future__ import annotations

import enum
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from shared.credit.errors import CreditError, CreditPolicyError
from shared.credit.windows import FriendlyWindow
from shared.money import DEFAULT_CURRENCY
from shared.quantities import Utility

DEFAULT_TIMEZONE = "Africa/Johannesburg"
DEFAULT_RECONNECT_THRESHOLD_CENTS = 2000
DEFAULT_LOW_CREDIT_WARNING_CENTS = 5000
_CURRENCY = re.compile(r"[A-Z]{3}")

#: Utilities whose supply the policy may switch off. Water (cold or hot) is never disconnected.
DISCONNECTABLE = frozenset({Utility.ELECTRICITY, Utility.SOLAR})


class CreditPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """One estate's credit-control rules for one utility (see ``docs/credit-control.md``)."""

    utility: Utility
    timezone: str = DEFAULT_TIMEZONE
    currency: str = DEFAULT_CURRENCY
    disconnect_threshold_cents: int = 0
    emergency_credit_cents: int = 0
    reconnect_threshold_cents: int = DEFAULT_RECONNECT_THRESHOLD_CENTS
    low_credit_warning_cents: int | None = DEFAULT_LOW_CREDIT_WARNING_CENTS
    water_debt_cap_cents: int | None = 0
    friendly_windows: tuple[FriendlyWindow, ...] = ()

    def __post_init__(self) -> None:
        if self.emergency_credit_cents < 0:
            raise CreditPolicyError(
                f"emergency_credit_cents: expected ≥ 0, got {self.emergency_credit_cents}"
            )
        if self.reconnect_threshold_cents <= self.disconnect_threshold_cents:
            raise CreditPolicyError(
                f"reconnect_threshold_cents: expected more than disconnect_threshold_cents "
                f"({self.disconnect_threshold_cents}) so the relay cannot chatter, "
                f"got {self.reconnect_threshold_cents}"
            )
        if self.water_debt_cap_cents is not None and self.water_debt_cap_cents < 0:
            raise CreditPolicyError(f"water_debt_cap_cents: expected ≥ 0, got {self.water_debt_cap_cents}")
        if not _CURRENCY.fullmatch(self.currency):
            raise CreditPolicyError(
                f"currency: expected an ISO 4217 code such as 'ZAR', got {self.currency!r}"
            )
        check_zone(self.timezone)

    @property
    def disconnectable(self) -> bool:
        """Whether this utility's supply may be switched off (never for water)."""
        return self.utility in DISCONNECTABLE

    @property
    def zone(self) -> ZoneInfo:
        """The estate's time zone, in which friendly windows are read."""
        return ZoneInfo(self.timezone)

    def disconnect_due(self, available_cents: int) -> bool:
        """Whether available credit is low enough to switch the supply off (windows aside).

        Without emergency credit: at or below the disconnect threshold. With it: only once the
        emergency credit is used up too, i.e. strictly below ``threshold − emergency``.
        """
        if self.emergency_credit_cents == 0:
            return available_cents <= self.disconnect_threshold_cents
        return available_cents < self.disconnect_threshold_cents - self.emergency_credit_cents


class RelayState(enum.StrEnum):
    """The relay state the meter last confirmed; ``unknown`` until it has said."""

    CLOSED = "closed"
    OPEN = "open"
    UNKNOWN = "unknown"


class RelayHold(enum.StrEnum):
    """Where an operator holds a relay (``shared.credit.holds``): ``open``, or ``closed`` (an
    emergency reconnect); credit control does not switch a held relay."""

    OPEN = "open"
    CLOSED = "closed"


class Supply(enum.StrEnum):
    """What the policy wants the supply to be (the relay may not have followed yet)."""

    CONNECTED = "connected"
    DISCONNECTED = "disconnected"


class PolicyState(msgspec.Struct, frozen=True, kw_only=True):
    """What the policy remembers between evaluations; store it and pass it back in.

    The default is the state of a newly commissioned meter.
    """

    supply: Supply = Supply.CONNECTED
    low_credit_warned: bool = False
    debt_cap_flagged: bool = False


class CreditInputs(msgspec.Struct, frozen=True, kw_only=True):
    """The facts of one evaluation: the wallet, the confirmed relay, the moment and the holidays.

    ``balance_cents`` is ``None`` while the gateway has never received the pocket's balance: an
    unknown balance is not a zero one, so no disconnection (or warning) is decided from it.
    ``credit_limit_cents`` is the wallet's own limit: the balance may go down to −limit before
    the thresholds are reached. ``holidays`` are the estate's public holidays (local dates).
    ``hold`` is an operator's hold on the relay, which credit control honours before any rule.
    """

    balance_cents: int | None
    relay: RelayState
    at: datetime
    holidays: frozenset[date] = frozenset()
    credit_limit_cents: int = 0
    hold: RelayHold | None = None

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise CreditError(f"at: expected a timezone-aware datetime, got naive {self.at.isoformat()}")
        if self.credit_limit_cents < 0:
            raise CreditError(f"credit_limit_cents: expected ≥ 0, got {self.credit_limit_cents}")

    @property
    def available_cents(self) -> int:
        """Balance plus the wallet's credit limit: what the thresholds are compared with."""
        assert self.balance_cents is not None, "credit control never judges an unknown balance"
        return self.balance_cents + self.credit_limit_cents


def check_zone(name: str) -> None:
    """Refuse a time-zone name the IANA database does not know."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CreditPolicyError(
            f"timezone: expected an IANA time-zone name such as {DEFAULT_TIMEZONE!r}, got {name!r}"
        ) from None

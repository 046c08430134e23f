"""What each role may change, and which kinds of object it may see at all.

Seeing is decided in two steps: the *kind* of object (an installer never sees wallets), then the
object itself (its estate, unit or wallet must be the caller's). Anything not seen is "not found".
Changing needs a permission on top of seeing.
"""

from __future__ import annotations

import enum

from cloud.auth.models import Role


class Permission(enum.StrEnum):
    """A kind of change; API keys carry a chosen subset of their creator's."""

    ESTATES_CREATE = "estates:create"
    ESTATES_CONFIGURE = "estates:configure"
    UNITS_WRITE = "units:write"
    PEOPLE_WRITE = "people:write"
    METERING_WRITE = "metering:write"
    TARIFFS_WRITE = "tariffs:write"
    WALLETS_WRITE = "wallets:write"
    MONEY_WRITE = "money:write"
    USERS_MANAGE = "users:manage"
    D0010_IMPORT = "d0010:import"
    RELAYS_SWITCH = "relays:switch"
    """Open or close a meter's relay by hand: cutting someone's supply is its own power."""
    MONEY_ADJUST = "money:adjust"
    """Correct a pocket against suspense: apart from top-ups, so a payments integration lacks it."""
    LEDGER_CLOSE = "ledger:close"
    """Close an accounting period for the whole platform: irreversible, so the operator's alone."""
    METERS_REPLACE = "meters:replace"
    """Record a new meter at a metering point (its serial and the swap's readings): what is billed
    across the swap follows from it."""


class Kind(enum.StrEnum):
    """A kind of object the API serves."""

    ESTATE = "estate"
    UNIT = "unit"
    PERSON = "person"
    OWNERSHIP = "ownership"
    TENANCY = "tenancy"
    METER = "meter"
    GATEWAY = "gateway"
    TARIFF = "tariff"
    WALLET = "wallet"
    EFT = "eft"
    D0010 = "d0010"
    """Supply-side flows and readings: for those who reconcile an estate's bulk supply."""
    USER = "user"
    """Logins and their roles: for those who administer an estate's access."""
    LEDGER = "ledger"
    """The books across an estate's accounts and the closed periods: for those who keep them."""


ALL_KINDS = frozenset(Kind)
#: Owners and tenants: their own units' records and money, the estate and its prices; no gateways.
OCCUPANT_KINDS = ALL_KINDS - {Kind.GATEWAY, Kind.D0010, Kind.USER, Kind.LEDGER}
INSTALLER_KINDS = frozenset({Kind.ESTATE, Kind.UNIT, Kind.METER, Kind.GATEWAY, Kind.TARIFF})

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.SUPER_ADMIN: frozenset(Permission),
    Role.MANAGING_AGENT: frozenset(Permission) - {Permission.ESTATES_CREATE, Permission.LEDGER_CLOSE},
    # Trustees oversee: they read everything in their estates and set its configuration and prices.
    Role.BODY_CORPORATE: frozenset({Permission.ESTATES_CONFIGURE, Permission.TARIFFS_WRITE}),
    # (Managing agents import D0010 flows: every permission but creating estates and closing
    # periods, above.)
    Role.INSTALLER: frozenset(
        {Permission.METERING_WRITE, Permission.RELAYS_SWITCH, Permission.METERS_REPLACE}
    ),
    Role.OWNER: frozenset(),
    Role.TENANT: frozenset(),
}

ROLE_KINDS: dict[Role, frozenset[Kind]] = {
    Role.SUPER_ADMIN: ALL_KINDS,
    Role.MANAGING_AGENT: ALL_KINDS,
    Role.BODY_CORPORATE: ALL_KINDS,
    Role.INSTALLER: INSTALLER_KINDS,
    Role.OWNER: OCCUPANT_KINDS,
    Role.TENANT: OCCUPANT_KINDS,
}

#: Roles a managing agent may give to users of its own estates (not its own role or above).
DELEGABLE_BY_AGENT = frozenset({Role.BODY_CORPORATE, Role.OWNER, Role.TENANT, Role.INSTALLER})

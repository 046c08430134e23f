"""Request and response bodies of the estates, people and metering endpoints (msgspec)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

import msgspec

from cloud.estates.metering_models import GatewayStatus, MeterRole
from cloud.estates.models import Occupancy, WalletMode
from shared.quantities import Utility

#: Largest id the API accepts: the largest integer every JSON client reads exactly (2^53 - 1).
ID_MAX = 2**53 - 1
Id = Annotated[int, msgspec.Meta(ge=1, le=ID_MAX, description="database id")]
FLOOR_AREA_MAX_M2 = Decimal(1_000_000)
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class EstateCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A new estate; ``utilities`` decide which pockets per-utility wallets get."""

    name: Name
    time_zone: Annotated[str, msgspec.Meta(min_length=1, max_length=64, examples=["Africa/Johannesburg"])]
    wallet_mode: WalletMode
    utilities: Annotated[list[Utility], msgspec.Meta(min_length=1, max_length=5)]
    currency: Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$")] = "ZAR"
    credit_policies: dict[str, Any] | None = None
    loss_threshold_percent: Decimal = Decimal(5)

    def __post_init__(self) -> None:
        _check_percent(self.loss_threshold_percent)


class EstateConfigure(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Change an estate's credit-control policies and/or loss threshold (omitted fields unchanged)."""

    credit_policies: dict[str, Any] | None = None
    loss_threshold_percent: Decimal | None = None

    def __post_init__(self) -> None:
        if self.loss_threshold_percent is not None:
            _check_percent(self.loss_threshold_percent)


class EstateOut(msgspec.Struct):
    """An estate and its configuration."""

    id: int
    name: str
    time_zone: str
    currency: str
    wallet_mode: str
    utilities: list[str]
    credit_policies: dict[str, Any]
    loss_threshold_percent: Decimal
    created_at: datetime


class UnitCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A new unit; its label is unique within the estate."""

    label: Name
    occupancy: Occupancy = Occupancy.VACANT
    floor_area_m2: Decimal | None = None

    def __post_init__(self) -> None:
        # msgspec cannot bound a Decimal; the column holds 10 digits with 2 after the point.
        area = self.floor_area_m2
        if area is not None and not (area.is_finite() and 0 < area <= FLOOR_AREA_MAX_M2):
            raise ValueError(
                f"floor_area_m2: expected a positive area up to {FLOOR_AREA_MAX_M2} m², got {area}"
            )


class UnitUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Mark a unit occupied, vacant or under maintenance."""

    occupancy: Occupancy


class UnitOut(msgspec.Struct):
    """A unit of an estate."""

    id: int
    estate_id: int
    label: str
    occupancy: str
    floor_area_m2: Decimal | None


class PersonCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """An owner, tenant or family member; an email address identifies at most one person."""

    full_name: Name
    email: Annotated[str, msgspec.Meta(max_length=254)] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=40)] | None = None


class PersonUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Change a person's record: omitted or null fields stay; an empty email or phone clears it."""

    full_name: Name | None = None
    email: Annotated[str, msgspec.Meta(max_length=254)] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=40)] | None = None


class PersonOut(msgspec.Struct):
    """A person's contact record."""

    id: int
    full_name: str
    email: str | None
    phone: str | None


class PersonPage(msgspec.Struct):
    """A page of people by id; pass ``next_after_id`` as ``after_id`` for the next."""

    items: list[PersonOut]
    next_after_id: int | None


class SpanCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A person's ownership or tenancy of the unit from ``starts_on`` until ``ends_on`` (exclusive)."""

    person_id: Id
    starts_on: date
    ends_on: date | None = None


class TenancyEnd(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """End a tenancy on ``ends_on`` (exclusive: the tenant's last day is the day before)."""

    ends_on: date


class SpanOut(msgspec.Struct):
    """An ownership or tenancy."""

    id: int
    unit_id: int
    person_id: int
    starts_on: date
    ends_on: date | None


class GatewayCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A gateway record for an estate, pending enrolment (enrolment itself is the sync API's)."""

    name: Name


class GatewayUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Activate or retire a gateway."""

    status: GatewayStatus


class GatewayOut(msgspec.Struct):
    """A gateway and its lifecycle status."""

    id: int
    estate_id: int
    name: str
    status: str
    created_at: datetime


class MeterCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A meter: a unit meter names its unit; bulk and common-property meters name none."""

    utility: Utility
    serial: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    firmware_profile_id: Annotated[
        str, msgspec.Meta(min_length=1, max_length=64, examples=["hiking-dds238-2"])
    ]
    role: MeterRole
    unit_id: Id | None = None
    gateway_id: Id | None = None


class MeterOut(msgspec.Struct):
    """A meter and where it is wired."""

    id: int
    estate_id: int
    unit_id: int | None
    gateway_id: int | None
    utility: str
    serial: str
    firmware_profile_id: str
    role: str


class MeterReplacementCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A new meter fitted at this metering point: its serial, the two displays (kWh or kL, as
    strings so no digit is lost; null when not read), when (default now) and why."""

    new_serial: Annotated[str, msgspec.Meta(max_length=200, examples=["22071934"])]
    reason: Annotated[str, msgspec.Meta(max_length=500, examples=["faulty display, meter swapped"])]
    old_meter_final_reading: Decimal | None = None
    new_meter_first_reading: Decimal | None = None
    replaced_at: datetime | None = None


class MeterReplacementOut(msgspec.Struct):
    """A meter replacement as recorded; ``config_version`` (in the answer to the replacement only)
    is the gateway's config version that carries it, null for a meter on no gateway."""

    id: int
    meter_id: int
    old_serial: str
    new_serial: str
    old_meter_final_reading: Decimal | None
    new_meter_first_reading: Decimal | None
    replaced_at: datetime
    reason: str
    recorded_by_user_id: int | None
    recorded_at: datetime
    config_version: int | None = None


class TariffUpload(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A tariff version as TOML text (the file format of ``examples/tariffs``)."""

    toml: Annotated[str, msgspec.Meta(min_length=1, max_length=200_000)]


class TariffVersionOut(msgspec.Struct):
    """One effective-dated version of a utility's tariff, with its TOML text unchanged."""

    id: int
    utility: str
    name: str
    effective_from: date
    toml: str
    created_at: datetime


def _check_percent(percent: Decimal) -> None:
    # msgspec cannot bound a Decimal (see UnitCreate); a ValueError here answers 400 naming the field.
    if not (percent.is_finite() and 0 <= percent <= 100):
        raise ValueError(f"loss_threshold_percent: expected 0 to 100, got {percent}")

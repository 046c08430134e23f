"""Estate configuration: wallets per wallet mode, tenancies, meters, tariff versions, scope, audit."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.audit.services import list_records
from cloud.database.session import transaction
from cloud.errors import Conflict, NotFound, ValidationFailed
from cloud.estates.metering import add_meter, add_tariff_version, register_gateway, tariff_versions
from cloud.estates.metering_models import MeterRole
from cloud.estates.models import WalletMode
from cloud.estates.people import add_person, end_tenancy, get_person, start_tenancy, tenancy_on
from cloud.estates.scope import Scope
from cloud.estates.services import configure_estate, create_estate, get_unit
from cloud.wallets.services import open_wallet, pocket_paying_for
from shared.quantities import Utility
from tests.integration.cloud.conftest import ADMIN, Estate, make_estate
from tests.support.paths import REPO_ROOT

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]
ALL = Scope.everything()
FLAT = (REPO_ROOT / "examples" / "tariffs" / "flat.toml").read_text()


async def test_wallet_pockets_follow_the_estates_wallet_mode(engine: AsyncEngine) -> None:
    per_utility = await make_estate(engine, "Oak Park", WalletMode.PER_UTILITY)
    shared = await make_estate(engine, "Elm Court", WalletMode.SHARED)
    assert [p.name for p in per_utility.wallet.pockets] == ["electricity", "water"]
    assert [p.name for p in shared.wallet.pockets] == ["shared"]
    async with transaction(engine) as session:
        water = await pocket_paying_for(session, ALL, shared.wallet.id, Utility.WATER)
        with pytest.raises(NotFound, match="does not meter it"):
            await pocket_paying_for(session, ALL, per_utility.wallet.id, Utility.SOLAR)
    assert water.name == "shared"
    with pytest.raises(Conflict, match="already has open wallet"):
        async with transaction(engine) as session:
            await open_wallet(session, ALL, ADMIN, per_utility.unit_id)


async def test_bad_estate_settings_are_refused_with_the_field_named(
    engine: AsyncEngine, estate: Estate
) -> None:
    with pytest.raises(ValidationFailed, match="time_zone: expected an IANA zone"):
        async with transaction(engine) as session:
            await create_estate(
                session,
                ADMIN,
                name="X",
                time_zone="Mars/Olympus",
                wallet_mode=WalletMode.SHARED,
                utilities=[Utility.WATER],
            )
    with pytest.raises(ValidationFailed, match=r"credit_policies\.electricity"):
        async with transaction(engine) as session:
            await configure_estate(
                session,
                ALL,
                ADMIN,
                estate.estate_id,
                credit_policies={"electricity": {"reconnect_threshold_cents": "lots"}},
            )
    async with transaction(engine) as session:
        await configure_estate(session, ALL, ADMIN, estate.estate_id, loss_threshold_percent=Decimal("7.5"))
        [audit] = await list_records(session, ALL, subject=("estate", estate.estate_id), limit=1)
    assert audit.action == "estate.configure"
    assert audit.before is not None and audit.before["loss_threshold_percent"] == "5.00"
    assert audit.after is not None and audit.after["loss_threshold_percent"] == "7.5"


async def test_an_estate_admin_cannot_see_another_estate(engine: AsyncEngine, estate: Estate) -> None:
    other = await make_estate(engine, "Elm Court")
    async with transaction(engine) as session:
        assert (await get_unit(session, Scope.estates(estate.estate_id), estate.unit_id)).label == "A1"
        with pytest.raises(NotFound, match=f"unit {other.unit_id} not found"):
            await get_unit(session, Scope.estates(estate.estate_id), other.unit_id)


async def test_a_unit_has_one_tenancy_at_a_time(engine: AsyncEngine, estate: Estate) -> None:
    async with transaction(engine) as session:
        thandi = await add_person(session, ADMIN, full_name="Thandi Nkosi", email="Thandi@Example.org")
        sipho = await add_person(session, ADMIN, full_name="Sipho Dlamini")
        first = await start_tenancy(
            session, ALL, ADMIN, estate.unit_id, thandi.id, starts_on=date(2026, 1, 1)
        )
    with pytest.raises(Conflict, match="already has tenancy"):
        async with transaction(engine) as session:
            await start_tenancy(session, ALL, ADMIN, estate.unit_id, sipho.id, starts_on=date(2026, 6, 1))
    async with transaction(engine) as session:
        await end_tenancy(session, ALL, ADMIN, first.id, ends_on=date(2026, 6, 1))
        second = await start_tenancy(
            session, ALL, ADMIN, estate.unit_id, sipho.id, starts_on=date(2026, 6, 1)
        )
        may = await tenancy_on(session, ALL, estate.unit_id, date(2026, 5, 31))
        june = await tenancy_on(session, ALL, estate.unit_id, date(2026, 6, 1))
        visible = await get_person(session, Scope.estates(estate.estate_id), sipho.id)
    assert (may and may.id, june and june.id) == (first.id, second.id)
    assert thandi.email == "thandi@example.org" and visible.full_name == "Sipho Dlamini"


async def test_meters_must_fit_their_estate(engine: AsyncEngine, estate: Estate) -> None:
    async with transaction(engine) as session:
        gateway = await register_gateway(session, ALL, ADMIN, estate.estate_id, name="gw-1")
        meter = await add_meter(
            session,
            ALL,
            ADMIN,
            estate.estate_id,
            utility=Utility.ELECTRICITY,
            serial="SN1",
            firmware_profile_id="eastron_sdm120",
            role=MeterRole.UNIT,
            unit_id=estate.unit_id,
            gateway_id=gateway.id,
        )
        bulk = await add_meter(
            session,
            ALL,
            ADMIN,
            estate.estate_id,
            utility=Utility.WATER,
            serial="B1",
            firmware_profile_id="bulk_water",
            role=MeterRole.BULK,
        )
    assert (meter.unit_id, bulk.unit_id) == (estate.unit_id, None)
    for kwargs, error, message in [
        ({"utility": Utility.SOLAR, "role": MeterRole.BULK}, ValidationFailed, "not solar"),
        (
            {"utility": Utility.WATER, "role": MeterRole.BULK, "unit_id": estate.unit_id},
            ValidationFailed,
            "takes no unit",
        ),
        ({"utility": Utility.WATER, "role": MeterRole.UNIT}, ValidationFailed, "needs unit"),
    ]:
        with pytest.raises(error, match=message):
            async with transaction(engine) as session:
                await add_meter(
                    session, ALL, ADMIN, estate.estate_id, serial="X", firmware_profile_id="p", **kwargs
                )  # type: ignore[arg-type]
    with pytest.raises(Conflict, match="already registered"):
        async with transaction(engine) as session:
            await add_meter(
                session,
                ALL,
                ADMIN,
                estate.estate_id,
                utility=Utility.WATER,
                serial="B1",
                firmware_profile_id="bulk_water",
                role=MeterRole.BULK,
            )


async def test_tariff_versions_are_stored_as_uploaded_and_dated_from_the_file(
    engine: AsyncEngine, estate: Estate
) -> None:
    async with transaction(engine) as session:
        version = await add_tariff_version(session, ALL, ADMIN, estate.estate_id, FLAT, source="flat.toml")
        again = await add_tariff_version(session, ALL, ADMIN, estate.estate_id, FLAT, source="flat.toml")
    assert again.id == version.id
    assert (version.name, version.effective_from, version.toml_text) == (
        "Estate domestic flat",
        date(2026, 7, 1),
        FLAT,
    )
    changed = FLAT.replace('rate = "2.8500"', 'rate = "2.9900"')
    with pytest.raises(Conflict, match="correction takes effect from a later date"):
        async with transaction(engine) as session:
            await add_tariff_version(session, ALL, ADMIN, estate.estate_id, changed, source="flat.toml")
    with pytest.raises(ValidationFailed, match=r"flat\.toml"):
        async with transaction(engine) as session:
            await add_tariff_version(
                session, ALL, ADMIN, estate.estate_id, "[tariff]\nname = 3", source="flat.toml"
            )
    async with transaction(engine) as session:
        later = await add_tariff_version(
            session,
            ALL,
            ADMIN,
            estate.estate_id,
            changed.replace("2026-07-01", "2027-07-01"),
            source="flat-2027.toml",
        )
        versions = await tariff_versions(session, ALL, estate.estate_id, Utility.ELECTRICITY)
    assert [v.id for v in versions] == [version.id, later.id]

"""The demo estate: a dozen units, tenants with wallets and credit, meters, tariffs and two logins.

Tariffs of each shape: electricity on time of use with inclining blocks added and a daily standing
charge, water on inclining blocks per kL, hot water at a flat rate with a monthly standing charge
(one tariff per utility is what an estate has). Unit 4 starts with little electricity credit, so
``make demo --fast`` shows its relay open at zero credit and close again after a top-up.

Every step looks for what it would create first, so seeding twice changes nothing (the second run
finds everything and returns the same ids). The passwords are fixed because the demo prints them;
a real estate is set up through the API by its managing agent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cloud.audit.actor import Actor
from cloud.auth.models import Role, User, UserEstate
from cloud.auth.passwords import hash_password
from cloud.database.session import transaction
from cloud.estates import metering, people, services
from cloud.estates.metering_models import Gateway, Meter, MeterRole
from cloud.estates.models import Estate, Occupancy, Person, Tenancy, Unit, WalletMode
from cloud.estates.scope import Scope
from cloud.gateways.config import set_meter_connection
from cloud.gateways.models import MeterConnection
from cloud.payments.services import manual_top_up
from cloud.wallets.models import Wallet
from cloud.wallets.services import get_wallet, open_wallet
from shared.quantities import Utility

ESTATE_NAME = "Protea Gardens (demo)"
UNIT_COUNT = 12
#: The demo gateway's Modbus bus (its id in edge.toml) and the bulk meter's unit address on it;
#: each unit's electricity meter answers at the unit's number.
DEMO_BUS = "demo-bus"
BULK_ADDRESS = 100
#: The ChirpStack application the demo's LoRaWAN water meters belong to.
DEMO_LORAWAN_APPLICATION = "6f1c4a52-3d8e-4b7a-9c1e-2a5d7f9b0c31"
BULK_WATER_DEV_EUI = "a1b2c3d4e5f60000"
#: Unit 1's hot water is metered by an Adeunis Pulse NB-IoT counting one litre a pulse.
HOT_WATER_UNIT = 1
HOT_WATER_IMEI = "356938035643809"
HOT_WATER_SERIAL = "HW0001"
OCCUPIED_COUNT = 10
OPENING_CREDIT_CENTS = 20_000
#: No disconnections on public holidays (the tariffs' ZA calendar); at zero credit on any other day
#: the relay opens. Water is never switched: a debt over R500 is flagged for the managing agent.
CREDIT_POLICIES = {
    "electricity": {"friendly_windows": [{"days": ["holiday"], "from": "00:00", "to": "24:00"}]},
    "water": {"water_debt_cap_cents": 50_000},
    "hot_water": {"water_debt_cap_cents": 50_000},
}
#: The unit whose electricity pocket starts nearly empty: the one the demo disconnects first.
LOW_CREDIT_UNIT = 4
LOW_CREDIT_CENTS = 2_500
TENANCY_START = date(2026, 7, 1)
TARIFF_FILES = ("time_of_use_blocks.toml", "water_blocks.toml", "hot_water.toml")
ADMIN_EMAIL = "admin@demo.quantify.example"
ADMIN_PASSWORD = "protea-admin-demo"  # noqa: S105  -- a published demo login, printed by the demo
TENANT_PASSWORD = "protea-tenant-demo"  # noqa: S105  -- likewise
OWNER_EMAIL = "owner@demo.quantify.example"
OWNER_PASSWORD = "protea-owner-demo"  # noqa: S105  -- likewise
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "tariffs"
SEEDER = Actor.system("seed the demo estate", source="quantify-cloud seed-demo")
ALL = Scope.everything()


@dataclass(frozen=True, slots=True)
class DemoLogin:
    """A login the demo prints."""

    email: str
    password: str
    role: str


@dataclass(frozen=True, slots=True)
class DemoMeter:
    """A meter of the demo estate and how the gateway reaches it: exactly one of a Modbus address
    (on ``DEMO_BUS``), a LoRaWAN DevEUI or an NB-IoT IMEI. ``unit`` is None for a bulk meter."""

    utility: Utility
    serial: str
    profile: str
    unit: int | None
    address: int | None = None
    dev_eui: str | None = None
    imei: str | None = None


def water_dev_eui(number: int) -> str:
    """Unit ``number``'s water meter's DevEUI."""
    return f"a1b2c3d4e5f6{number:04x}"


def demo_meters() -> tuple[DemoMeter, ...]:
    """Every meter of the estate: per unit a DDS238-2 on Modbus (its relay disconnects) and an Axioma
    Qalcosonic W1 on LoRaWAN; unit 1's hot water on NB-IoT; a bulk meter per utility supplied."""
    meters = [
        DemoMeter(Utility.ELECTRICITY, "BULK-01", "eastron-sdm630", None, address=BULK_ADDRESS),
        DemoMeter(Utility.WATER, "BULK-W01", "axioma-qalcosonic-w1", None, dev_eui=BULK_WATER_DEV_EUI),
    ]
    for number in range(1, UNIT_COUNT + 1):
        meters.append(
            DemoMeter(Utility.ELECTRICITY, f"E{number:04d}", "hiking-dds238-2", number, address=number)
        )
        meters.append(
            DemoMeter(
                Utility.WATER, f"W{number:04d}", "axioma-qalcosonic-w1", number, dev_eui=water_dev_eui(number)
            )
        )
    meters.append(
        DemoMeter(
            Utility.HOT_WATER, HOT_WATER_SERIAL, "adeunis-pulse-nbiot", HOT_WATER_UNIT, imei=HOT_WATER_IMEI
        )
    )
    return tuple(meters)


@dataclass(frozen=True, slots=True)
class DemoEstate:
    """What the seed made (or found): ids and the logins to print."""

    estate_id: int
    unit_ids: tuple[int, ...]
    wallet_ids: tuple[int, ...]
    gateway_id: int
    logins: tuple[DemoLogin, ...]


def tenant_email(number: int) -> str:
    """The demo tenant of unit ``number``'s email address."""
    return f"tenant{number:02d}@demo.quantify.example"


async def seed_demo(engine: AsyncEngine, examples: Path = EXAMPLES) -> DemoEstate:
    """Create the demo estate, or find it as an earlier run left it; one transaction."""
    async with transaction(engine) as session:
        estate = await _estate(session)
        gateway = await _gateway(session, estate.id)
        for name in TARIFF_FILES:
            path = examples / name
            await metering.add_tariff_version(
                session, ALL, SEEDER, estate.id, path.read_text(), source=str(path)
            )
        owner = await _person(session, "Demo Owner", OWNER_EMAIL)
        units = [await _unit(session, estate.id, number, owner.id) for number in range(1, UNIT_COUNT + 1)]
        for meter in demo_meters():
            unit_id = None if meter.unit is None else units[meter.unit - 1].id
            await _meter(session, estate.id, gateway.id, unit_id, meter)
        wallets = [await _tenant(session, units[n - 1], n) for n in range(1, OCCUPIED_COUNT + 1)]
        await ensure_user(session, ADMIN_EMAIL, ADMIN_PASSWORD, Role.MANAGING_AGENT, estate_id=estate.id)
        await ensure_user(session, OWNER_EMAIL, OWNER_PASSWORD, Role.OWNER, person_id=owner.id)
    logins = (
        DemoLogin(ADMIN_EMAIL, ADMIN_PASSWORD, Role.MANAGING_AGENT.value),
        DemoLogin(tenant_email(1), TENANT_PASSWORD, Role.TENANT.value),
        DemoLogin(OWNER_EMAIL, OWNER_PASSWORD, Role.OWNER.value),
    )
    return DemoEstate(estate.id, tuple(unit.id for unit in units), tuple(wallets), gateway.id, logins)


async def _estate(session: AsyncSession) -> Estate:
    found = await session.scalar(select(Estate).where(Estate.name == ESTATE_NAME))
    if found is not None:
        return found
    return await services.create_estate(
        session,
        SEEDER,
        name=ESTATE_NAME,
        time_zone="Africa/Johannesburg",
        wallet_mode=WalletMode.PER_UTILITY,
        utilities=[Utility.ELECTRICITY, Utility.WATER, Utility.HOT_WATER],
        credit_policies=CREDIT_POLICIES,
    )


async def _gateway(session: AsyncSession, estate_id: int) -> Gateway:
    found = await session.scalar(select(Gateway).where(Gateway.estate_id == estate_id))
    if found is not None:
        return found
    return await metering.register_gateway(session, ALL, SEEDER, estate_id, name="gw-demo-estate")


async def _unit(session: AsyncSession, estate_id: int, number: int, owner_id: int) -> Unit:
    label = f"Unit {number}"
    unit = await session.scalar(select(Unit).where(Unit.estate_id == estate_id, Unit.label == label))
    if unit is None:
        occupancy = Occupancy.OCCUPIED if number <= OCCUPIED_COUNT else Occupancy.VACANT
        unit = await services.add_unit(session, ALL, SEEDER, estate_id, label=label, occupancy=occupancy)
        # The demo owner owns the first three units: a small portfolio to look at.
        if number <= 3:
            await people.record_ownership(session, ALL, SEEDER, unit.id, owner_id, starts_on=TENANCY_START)
    return unit


async def _meter(
    session: AsyncSession, estate_id: int, gateway_id: int, unit_id: int | None, meter: DemoMeter
) -> None:
    taken = await session.scalar(
        select(Meter.id).where(Meter.firmware_profile_id == meter.profile, Meter.serial == meter.serial)
    )
    if taken is None:
        taken = (
            await metering.add_meter(
                session,
                ALL,
                SEEDER,
                estate_id,
                utility=meter.utility,
                serial=meter.serial,
                firmware_profile_id=meter.profile,
                role=MeterRole.UNIT if unit_id is not None else MeterRole.BULK,
                unit_id=unit_id,
                gateway_id=gateway_id,
            )
        ).id
    await _connect(session, taken, meter)


async def _connect(session: AsyncSession, meter_id: int, meter: DemoMeter) -> None:
    """Say how the demo's gateway reaches the meter (``make demo`` simulates each), unless it already does.

    Modbus meters are polled every 5 s; a radio meter's uplink interval is set on its device.
    """
    bus = DEMO_BUS if meter.address is not None else None
    wanted = (bus, meter.address, meter.dev_eui, meter.imei)
    current = await session.get(MeterConnection, meter_id)
    if current is None or (current.bus, current.address, current.dev_eui, current.imei) != wanted:
        await set_meter_connection(
            session, ALL, SEEDER, meter_id, bus=bus, address=meter.address, dev_eui=meter.dev_eui,
            imei=meter.imei, poll_interval_s=5 if meter.address is not None else 3600,
        )  # fmt: skip


async def _person(session: AsyncSession, full_name: str, email: str) -> Person:
    found = await session.scalar(select(Person).where(Person.email == email))
    return found or await people.add_person(session, SEEDER, full_name=full_name, email=email)


async def _tenant(session: AsyncSession, unit: Unit, number: int) -> int:
    """The unit's tenant, tenancy, wallet (with opening credit) and login; returns the wallet id."""
    person = await _person(session, f"Demo Tenant {number}", tenant_email(number))
    tenancy = await session.scalar(
        select(Tenancy).where(Tenancy.unit_id == unit.id, Tenancy.person_id == person.id)
    )
    if tenancy is None:
        tenancy = await people.start_tenancy(
            session, ALL, SEEDER, unit.id, person.id, starts_on=TENANCY_START
        )
    wallet_id = await session.scalar(
        select(Wallet.id).where(Wallet.unit_id == unit.id, Wallet.closed_at.is_(None))
    )
    if wallet_id is None:
        view = await open_wallet(
            session, ALL, SEEDER, unit.id, holder_person_id=person.id, tenancy_id=tenancy.id
        )
        wallet_id = view.id
    # The ledger's idempotency key makes the opening credit happen once, however often we seed.
    for pocket in (await get_wallet(session, ALL, wallet_id)).pockets:
        await manual_top_up(
            session,
            ALL,
            SEEDER,
            pocket.pocket_id,
            amount_cents=opening_credit_cents(number, pocket.name.value),
            idempotency_key=f"seed:wallet:{wallet_id}:{pocket.name.value}",
        )
    await ensure_user(session, tenant_email(number), TENANT_PASSWORD, Role.TENANT, person_id=person.id)
    return wallet_id


def opening_credit_cents(number: int, pocket: str) -> int:
    """What unit ``number``'s pocket starts with: R200, but little electricity for the low-credit unit."""
    if number == LOW_CREDIT_UNIT and pocket == Utility.ELECTRICITY.value:
        return LOW_CREDIT_CENTS
    return OPENING_CREDIT_CENTS


async def ensure_user(
    session: AsyncSession,
    email: str,
    password: str,
    role: Role,
    *,
    person_id: int | None = None,
    estate_id: int | None = None,
) -> None:
    """Create a user unless one with this email exists (also how an operator bootstraps a super admin)."""
    if await session.scalar(select(User.id).where(User.email == email)) is not None:
        return
    user = User(email=email, password_hash=hash_password(password), role=role.value, person_id=person_id)
    session.add(user)
    await session.flush()
    if estate_id is not None:
        session.add(UserEstate(user_id=user.id, estate_id=estate_id))
        await session.flush()

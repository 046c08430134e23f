"""The gateway's config document, built from the cloud's model and versioned by its digest.

Nothing stores the document itself: it is rebuilt on demand (meters, their wallets and pockets,
tariff texts, credit policies), and its digest, taken with ``version`` 0, is compared with the
digest of the latest stored version. A different digest is a new version, and the gateway hears
of it on the push channel and in the next ack.

Every journal batch needs the document, so each process keeps the last one built per gateway,
keyed by a fingerprint PostgreSQL takes of every row it is built from (the gateway's meters with
their units, open wallets, connections and replacements, the estate's tariff versions, the estate
itself) and the latest version number. One small query per request then replaces the rebuild; any
change to those rows, or a version recorded by another process, misses the cache and rebuilds. A
new input of the document must join the fingerprint too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from cloud.audit.actor import Actor
from cloud.audit.services import record
from cloud.errors import NotFound, ValidationFailed
from cloud.estates.metering_models import Gateway, Meter, MeterReplacement, Tariff, TariffVersion
from cloud.estates.models import Estate, Unit, WalletMode
from cloud.estates.scope import Scope
from cloud.gateways.models import ConfigVersion, MeterConnection
from cloud.gateways.push import enqueue
from cloud.ledger.driver import fetch_meanwhile
from cloud.wallets.models import Wallet
from shared.journal import Pocket
from shared.quantities import Utility
from shared.sync.gateway_api import ConfigMeter, ConfigWallet, GatewayConfigDocument, config_digest
from shared.sync.messages import ConfigVersionNotice
from shared.tariffs import TariffError, parse_tariff
from shared.tariffs.calendar_days import DEFAULT_HOLIDAY_COUNTRY

_CONNECTION_COLUMNS = (
    MeterConnection.bus,
    MeterConnection.address,
    MeterConnection.poll_interval_s,
    MeterConnection.dev_eui,
    MeterConnection.imei,
)
_DEV_EUI = re.compile("[0-9a-f]{16}")
#: Whole rows as text, so a column added to any of them changes the fingerprint without a change here.
_FINGERPRINT_SQL = """
    SELECT
        (SELECT md5(string_agg(concat_ws('|', m::text, u::text, w::text, c::text), ';' ORDER BY m.id, w.id))
           FROM meters m
           LEFT JOIN units u ON u.id = m.unit_id
           LEFT JOIN wallets w ON w.unit_id = m.unit_id AND w.closed_at IS NULL
           LEFT JOIN gateway_meter_connections c ON c.meter_id = m.id
          WHERE m.gateway_id = %(gateway)s) AS meters,
        (SELECT md5(string_agg(concat_ws('|', t::text, v::text), ';' ORDER BY v.id))
           FROM tariffs t JOIN tariff_versions v ON v.tariff_id = t.id
          WHERE t.estate_id = %(estate)s) AS tariffs,
        (SELECT md5(e::text) FROM estates e WHERE e.id = %(estate)s) AS estate,
        (SELECT md5(string_agg(r::text, ';' ORDER BY r.id))
           FROM meter_replacements r JOIN meters m ON m.id = r.meter_id
          WHERE m.gateway_id = %(gateway)s) AS replacements,
        (SELECT max(version) FROM gateway_config_versions WHERE gateway_id = %(gateway)s) AS version
"""
_FINGERPRINT = text(_FINGERPRINT_SQL.replace("%(gateway)s", ":gateway").replace("%(estate)s", ":estate"))
#: Documents built, per gateway: (fingerprint and version they were built at, the document).
_BUILT: dict[int, tuple[tuple[Any, ...], GatewayConfigDocument]] = {}
_BUILT_MAX = 4096
_IMEI = re.compile("[0-9]{15}")


@dataclass(frozen=True, slots=True)
class GatewayContext:
    """A gateway with its estate: what every gateway service needs to know about the sender."""

    gateway: Gateway
    estate: Estate

    @property
    def gateway_id(self) -> int:
        """The gateway's id in the cloud (also the id it signs with, as text)."""
        return self.gateway.id


async def gateway_context(session: AsyncSession, gateway_id: int) -> GatewayContext:
    """The gateway and its estate; :class:`NotFound` if there is no such gateway."""
    row = (
        await session.execute(
            select(Gateway, Estate)
            .join(Estate, Estate.id == Gateway.estate_id)
            .where(Gateway.id == gateway_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"gateway {gateway_id} not found")
    return GatewayContext(row[0], row[1])


async def config_fingerprint(
    session: AsyncSession, context: GatewayContext, *, meanwhile: Callable[[], None]
) -> tuple[Any, ...]:
    """The fingerprint :func:`current_config` keys its cache by, read while ``meanwhile()`` (CPU
    work of the caller's, no I/O on the session) runs: pass it to :func:`current_config`."""
    params = {"gateway": context.gateway_id, "estate": context.estate.id}
    [row] = await fetch_meanwhile(session, _FINGERPRINT_SQL, params, meanwhile)
    return tuple(row)


async def current_config(
    session: AsyncSession, context: GatewayContext, *, fingerprint: tuple[Any, ...] | None = None
) -> GatewayConfigDocument:
    """The gateway's config document at its current version, recording a new version if it changed.

    ``fingerprint``: from :func:`config_fingerprint`, earlier in the same transaction (read now
    when not given). The caller must not change the document: the same one is handed out until
    its inputs change.
    """
    # Taken before building: if the rows change meanwhile, the key is older than the document,
    # so the next request misses and rebuilds rather than keeping a document older than its key.
    if fingerprint is None:
        params = {"gateway": context.gateway_id, "estate": context.estate.id}
        fingerprint = tuple((await (await session.connection()).execute(_FINGERPRINT, params)).one())
    cached = _BUILT.get(context.gateway_id)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    document, recorded = await _current_version(session, context)
    if recorded:
        if len(_BUILT) >= _BUILT_MAX:
            _BUILT.clear()
        _BUILT[context.gateway_id] = ((*fingerprint[:-1], document.version), document)
    return document


async def _current_version(
    session: AsyncSession, context: GatewayContext
) -> tuple[GatewayConfigDocument, bool]:
    """The document built now, and whether its version is the one stored for its digest."""
    document = await build_document(session, context, version=0)
    digest = config_digest(document)
    latest = (
        await session.execute(
            select(ConfigVersion.version, ConfigVersion.digest)
            .where(ConfigVersion.gateway_id == context.gateway_id)
            .order_by(ConfigVersion.version.desc())
            .limit(1)
        )
    ).one_or_none()
    if latest is not None and latest.digest == digest:
        version, recorded = int(latest.version), True
    else:
        version, recorded = await _record_version(
            session, context.gateway_id, 1 if latest is None else latest.version + 1, digest
        )
    return GatewayConfigDocument(**{**_fields(document), "version": version}), recorded


async def _record_version(
    session: AsyncSession, gateway_id: int, version: int, digest: str
) -> tuple[int, bool]:
    inserted = await session.scalar(
        insert(ConfigVersion)
        .values(gateway_id=gateway_id, version=version, digest=digest)
        .on_conflict_do_nothing()
        .returning(ConfigVersion.version)
    )
    if inserted is None:
        # A concurrent request recorded this version number first, from the model as it stood a
        # moment ago; if its digest differs from ours, the next request records the next version.
        return version, False
    if version > 1:
        await enqueue(session, gateway_id, ConfigVersionNotice(config_version=version))
    return version, True


async def build_document(
    session: AsyncSession, context: GatewayContext, *, version: int
) -> GatewayConfigDocument:
    """The config document as the cloud's model says it now, stamped with ``version``."""
    estate = context.estate
    meters = await _config_meters(session, context)
    wallets = sorted({meter.wallet_id for meter in meters if meter.wallet_id is not None}, key=int)
    texts = await _tariff_texts(session, estate.id)
    utilities = sorted({Utility(u) for u in estate.utilities} | {meter.utility for meter in meters})
    return GatewayConfigDocument(
        version=version,
        gateway_id=str(context.gateway_id),
        estate_id=str(estate.id),
        timezone=estate.time_zone,
        holiday_country=_holiday_country(tuple(text for versions in texts.values() for text in versions)),
        meters=meters,
        wallets=[ConfigWallet(id=wallet_id) for wallet_id in wallets],
        tariffs={utility: texts.get(utility, []) for utility in utilities},
        credit={Utility(name): dict(table) for name, table in sorted(estate.credit_policies.items())},
    )


async def _config_meters(session: AsyncSession, context: GatewayContext) -> list[ConfigMeter]:
    open_wallet = and_(Wallet.unit_id == Meter.unit_id, Wallet.closed_at.is_(None))
    # The installer's readings at the replacement that fitted each meter's present serial: its
    # latest replacement, if that one's new serial is the meter's.
    later = aliased(MeterReplacement)
    latest = select(func.max(later.id)).where(later.meter_id == Meter.id).correlate(Meter).scalar_subquery()
    replaced = and_(
        MeterReplacement.meter_id == Meter.id,
        MeterReplacement.new_serial == Meter.serial,
        MeterReplacement.id == latest,
    )
    # Plain columns, not ORM entities: this runs on every ack, for every meter of the gateway.
    query = (
        select(
            Meter.id,
            Meter.utility,
            Meter.firmware_profile_id,
            Meter.serial,
            Meter.role,
            Unit.label,
            Wallet.id.label("wallet_id"),
            MeterReplacement.old_serial.label("replaced_serial"),
            MeterReplacement.old_meter_final_reading,
            MeterReplacement.new_meter_first_reading,
            *_CONNECTION_COLUMNS,
        )
        .outerjoin(Unit, Unit.id == Meter.unit_id)
        .outerjoin(MeterReplacement, replaced)
        .outerjoin(Wallet, open_wallet)
        .outerjoin(MeterConnection, MeterConnection.meter_id == Meter.id)
        .where(Meter.gateway_id == context.gateway_id)
        .order_by(Meter.id)
    )
    shared_pocket = context.estate.wallet_mode == WalletMode.SHARED.value
    meters = []
    for row in await session.execute(query):
        utility = Utility(row.utility)
        connection = (
            {} if row.poll_interval_s is None else {c.key: getattr(row, c.key) for c in _CONNECTION_COLUMNS}
        )
        meters.append(
            ConfigMeter(
                id=str(row.id),
                unit=row.label or row.role,
                utility=utility,
                profile=row.firmware_profile_id,
                wallet_id=None if row.wallet_id is None else str(row.wallet_id),
                pocket=Pocket.SHARED if shared_pocket else Pocket.for_utility(utility),
                serial=row.serial or None,
                replaced_serial=row.replaced_serial,
                old_meter_final_reading=row.old_meter_final_reading,
                new_meter_first_reading=row.new_meter_first_reading,
                **connection,
            )
        )
    return meters


def _connection_fields(connection: MeterConnection | None) -> dict[str, Any] | None:
    """An audit snapshot of a meter's connection details."""
    if connection is None:
        return None
    return {column.key: getattr(connection, column.key) for column in _CONNECTION_COLUMNS}


async def _tariff_texts(session: AsyncSession, estate_id: int) -> dict[Utility, list[str]]:
    query = (
        select(Tariff.utility, TariffVersion.toml_text)
        .join(TariffVersion, TariffVersion.tariff_id == Tariff.id)
        .where(Tariff.estate_id == estate_id)
        .order_by(Tariff.utility, TariffVersion.effective_from)
    )
    texts: dict[Utility, list[str]] = {}
    for utility, toml_text in await session.execute(query):
        texts.setdefault(Utility(utility), []).append(toml_text)
    return texts


@lru_cache(maxsize=256)
def _holiday_country(texts: tuple[str, ...]) -> str:
    # The estate has no holiday setting of its own; its time-of-use tariffs name the calendar.
    for toml_text in texts:
        try:
            tou = parse_tariff(toml_text, "stored tariff").tou
        except TariffError:
            continue
        if tou is not None:
            return tou.holiday_country
    return DEFAULT_HOLIDAY_COUNTRY


def _fields(document: GatewayConfigDocument) -> dict[str, Any]:
    return {name: getattr(document, name) for name in document.__struct_fields__}


async def set_meter_connection(
    session: AsyncSession,
    scope: Scope,
    actor: Actor,
    meter_id: int,
    *,
    bus: str | None = None,
    address: int | None = None,
    poll_interval_s: int = 60,
    dev_eui: str | None = None,
    imei: str | None = None,
) -> MeterConnection:
    """Set how the gateway reaches a meter (a new config version follows on the next request)."""
    meter = await session.get(Meter, meter_id)
    if meter is None or not scope.allows_estate(meter.estate_id):
        raise NotFound(f"meter {meter_id} not found")
    _check_connection(address, poll_interval_s, dev_eui, imei)
    values = {
        "bus": bus,
        "address": address,
        "poll_interval_s": poll_interval_s,
        "dev_eui": dev_eui,
        "imei": imei,
    }
    before = await session.get(MeterConnection, meter_id)
    snapshot = _connection_fields(before)
    await session.execute(
        insert(MeterConnection)
        .values(meter_id=meter_id, **values)
        .on_conflict_do_update(index_elements=["meter_id"], set_=values)
    )
    connection = await session.get(MeterConnection, meter_id, populate_existing=True)
    assert connection is not None
    await record(
        session,
        actor,
        "meter.set_connection",
        ("meter", meter_id),
        estate_id=meter.estate_id,
        before=snapshot,
        after=values,
    )
    return connection


def _check_connection(
    address: int | None, poll_interval_s: int, dev_eui: str | None, imei: str | None
) -> None:
    if address is not None and not 1 <= address <= 247:
        raise ValidationFailed(f"address: expected a Modbus address from 1 to 247, got {address}")
    if not 1 <= poll_interval_s <= 86_400:
        raise ValidationFailed(f"poll_interval_s: expected 1 to 86400 seconds, got {poll_interval_s}")
    if dev_eui is not None and not _DEV_EUI.fullmatch(dev_eui):
        raise ValidationFailed(f"dev_eui: expected 16 lowercase hex digits, got {dev_eui!r}")
    if imei is not None and not _IMEI.fullmatch(imei):
        raise ValidationFailed(f"imei: expected 15 digits, got {imei!r}")

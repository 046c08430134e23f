"""The cloud's configuration document turned into the agent's :class:`EdgeConfig`, checked first.

The cloud decides meters, wallets, tariffs and credit policies (``GatewayConfigDocument``); the site
decides everything physical or local (buses, serial ports, the page, the store, the cloud section),
which stays in ``edge.toml``. :func:`config_from_document` merges the two and checks the result as
strictly as the loader checks ``edge.toml``: every meter's profile must be known, every tariff must
parse and form a schedule, every policy must parse, every billed utility needs a tariff. A document
that fails any check is refused whole, so the agent keeps running on the configuration it has.

A cloud meter's bus and address come from the document. When the document leaves them null
(connection details kept on site) they are taken from the ``[[meters]]`` entry with the same id in
``edge.toml``. A meter whose bus is not configured on this gateway, or that has no Modbus address
at all (a LoRaWAN or NB-IoT meter), is not polled by this agent: it is listed in
:attr:`DocumentConfig.unreachable` so the caller can say so, and it is not an error, because buses
are added on site after the cloud knows about the meter.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from edge_agent.config.model import EdgeConfig, MeterConfig
from edge_agent.errors import ConfigError
from firmware_profiles import FirmwareProfileError, ProfileRegistry
from shared.credit import CreditError, CreditPolicy, parse_credit_policies
from shared.quantities import Utility
from shared.sync.gateway_api import ConfigMeter, GatewayConfigDocument
from shared.tariffs import TariffError, TariffSchedule, parse_tariff
from shared.tariffs.calendar_days import supported_countries


@dataclass(frozen=True, slots=True)
class DocumentConfig:
    """The merged configuration, and the document's meters this agent cannot reach (with why)."""

    config: EdgeConfig
    unreachable: dict[str, str]


def config_from_document(
    local: EdgeConfig, document: GatewayConfigDocument, registry: ProfileRegistry
) -> DocumentConfig:
    """``local`` (from ``edge.toml``) with the cloud's meters, wallets, tariffs and policies.

    Raises :class:`ConfigError` naming the document version, the field and what was expected.
    """
    where = f"cloud config version {document.version}"
    if document.gateway_id != local.gateway_id:
        raise ConfigError(
            f"{where}: gateway_id: expected this gateway's id {local.gateway_id!r}, "
            f"got {document.gateway_id!r}"
        )
    try:
        ZoneInfo(document.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{where}: timezone: expected an IANA time zone, got {document.timezone!r}"
        ) from None
    if document.holiday_country not in supported_countries():
        raise ConfigError(f"{where}: holiday_country: no holiday calendar for {document.holiday_country!r}")
    limits = {wallet.id: wallet.credit_limit_cents for wallet in document.wallets}
    meters: list[MeterConfig] = []
    unreachable: dict[str, str] = {}
    for index, cloud_meter in enumerate(document.meters):
        _check_profile(where, index, cloud_meter, registry)
        meter_or_reason = _meter(local, cloud_meter, limits)
        if isinstance(meter_or_reason, str):
            unreachable[cloud_meter.id] = meter_or_reason
        else:
            meters.append(meter_or_reason)
    _refuse_duplicate_meters(where, document.meters)
    tariffs = _tariffs(where, document)
    for meter in meters:
        if meter.utility not in tariffs:
            raise ConfigError(f"{where}: tariffs: meter {meter.id} is {meter.utility} but no tariff is given")
    config = dataclasses.replace(
        local,
        timezone=document.timezone,
        holiday_country=document.holiday_country,
        meters=tuple(meters),
        tariffs=tariffs,
        credit=_credit(where, document, {meter.utility for meter in meters}),
    )
    return DocumentConfig(config=config, unreachable=unreachable)


def _check_profile(where: str, index: int, meter: ConfigMeter, registry: ProfileRegistry) -> None:
    try:
        registry.get(meter.profile)
    except FirmwareProfileError as error:
        raise ConfigError(
            f"{where}: meters[{index}].profile: expected a firmware profile this agent knows ({error}), "
            f"got {meter.profile!r}"
        ) from None


def _meter(local: EdgeConfig, cloud: ConfigMeter, limits: dict[str, int]) -> MeterConfig | str:
    """The meter as the agent runs it, or why this gateway cannot poll it."""
    on_site = next((meter for meter in local.meters if meter.id == cloud.id), None)
    bus = cloud.bus if cloud.bus is not None else (on_site.bus if on_site else None)
    address = cloud.address if cloud.address is not None else (on_site.address if on_site else None)
    if bus is None or address is None:
        return "no Modbus bus and address in the cloud's config or in edge.toml"
    if bus not in {configured.id for configured in local.buses}:
        return f"bus {bus!r} is not configured in edge.toml"
    return MeterConfig(
        id=cloud.id,
        unit=cloud.unit,
        utility=cloud.utility,
        profile=cloud.profile,
        bus=bus,
        address=address,
        poll_interval_s=cloud.poll_interval_s,
        wallet_id=cloud.wallet_id,
        pocket=cloud.pocket,
        credit_limit_cents=limits.get(cloud.wallet_id, 0) if cloud.wallet_id else 0,
    )


def _refuse_duplicate_meters(where: str, meters: list[ConfigMeter]) -> None:
    seen: set[str] = set()
    for index, meter in enumerate(meters):
        if meter.id in seen:
            raise ConfigError(f"{where}: meters[{index}].id: {meter.id!r} is used twice; ids must be unique")
        seen.add(meter.id)


def _tariffs(where: str, document: GatewayConfigDocument) -> dict[Utility, TariffSchedule]:
    schedules = {}
    for utility, texts in document.tariffs.items():
        if not texts:
            continue  # the estate has the utility but no tariff yet: fine unless a meter needs one
        try:
            versions = [
                parse_tariff(text, source=f"{where}: tariffs.{utility}[{index}]")
                for index, text in enumerate(texts)
            ]
            schedules[utility] = TariffSchedule.of(versions)
        except TariffError as error:
            raise ConfigError(f"{where}: tariffs.{utility}: {error}") from None
    return schedules


def _credit(
    where: str, document: GatewayConfigDocument, metered: set[Utility]
) -> dict[Utility, CreditPolicy]:
    """Policies per utility in the estate's time zone; a metered utility without one gets the defaults."""
    zone = document.timezone
    tables = {str(utility): {"timezone": zone, **table} for utility, table in document.credit.items()}
    try:
        policies = parse_credit_policies(tables, where=f"{where}: credit")
    except CreditError as error:
        raise ConfigError(str(error)) from None
    defaults = {u: CreditPolicy(utility=u, timezone=document.timezone) for u in metered - set(policies)}
    return {**policies, **defaults}

"""The cloud's configuration document turned into the agent's :class:`EdgeConfig`, checked first.

The cloud decides meters, wallets, tariffs and credit policies (``GatewayConfigDocument``); the site
decides everything physical or local (buses, serial ports, the page, the store, the cloud section),
which stays in ``edge.toml``. :func:`config_from_document` merges the two and checks the result as
strictly as the loader checks ``edge.toml``: every meter's profile must be known, every tariff must
parse and form a schedule, every policy must parse, every billed utility needs a tariff. A document
that fails any check is refused whole, so the agent keeps running on the configuration it has.

A cloud meter's connection comes from the document: a Modbus bus and address, a LoRaWAN DevEUI or
an NB-IoT IMEI. When the document leaves it null (connection details kept on site) it is taken from
the ``[[meters]]`` entry with the same id in ``edge.toml``, and so are a radio meter's site details
(pulse weight and input, uplink interval), which the cloud does not hold. A meter this gateway
cannot reach (its bus is not configured, ``edge.toml`` has no ``[lorawan]``/``[nbiot]`` section, its
NB-IoT key folder is not provisioned, its pulse weight is unknown) is listed in
:attr:`DocumentConfig.unreachable` so the caller can say so; it is not an error, because buses and
keys are added on site after the cloud knows about the meter.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from edge_agent.config.model import EdgeConfig, MeterConfig
from edge_agent.errors import ConfigError
from firmware_profiles import FirmwareProfileError, Profile, ProfileRegistry, Transport
from shared.credit import CreditError, CreditPolicy, parse_credit_policies
from shared.quantities import Utility, base_units
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
        _check_readings(where, index, cloud_meter)
        meter_or_reason = _meter(local, cloud_meter, limits, registry)
        if isinstance(meter_or_reason, str):
            unreachable[cloud_meter.id] = meter_or_reason
        else:
            meters.append(meter_or_reason)
    _refuse_duplicate_meters(where, document.meters)
    meters = _refuse_shared_devices(meters, unreachable)
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


def _check_readings(where: str, index: int, meter: ConfigMeter) -> None:
    for key in ("old_meter_final_reading", "new_meter_first_reading"):
        reading: Decimal | None = getattr(meter, key)
        if reading is not None and (not reading.is_finite() or reading < 0):
            raise ConfigError(
                f"{where}: meters[{index}].{key}: expected the meter's display in kWh or kL, "
                f"0 or more, got {reading}"
            )


def _meter(
    local: EdgeConfig, cloud: ConfigMeter, limits: dict[str, int], registry: ProfileRegistry
) -> MeterConfig | str:
    """The meter as the agent runs it, or why this gateway cannot reach it."""
    on_site = next((meter for meter in local.meters if meter.id == cloud.id), None)
    meter = _connected(cloud, on_site)
    if isinstance(meter, str):
        return meter
    meter = dataclasses.replace(
        meter, id=cloud.id, unit=cloud.unit, utility=cloud.utility, profile=cloud.profile,
        wallet_id=cloud.wallet_id, pocket=cloud.pocket,
        credit_limit_cents=limits.get(cloud.wallet_id, 0) if cloud.wallet_id else 0,
        **_device_on_site(cloud, on_site),
    )  # fmt: skip
    profile = registry.get(cloud.profile)
    if profile.transport is not meter.transport:
        return (
            f"its profile {cloud.profile} is a {profile.transport} meter; its connection is {meter.transport}"
        )
    if meter.transport is Transport.MODBUS:
        if meter.bus not in {configured.id for configured in local.buses}:
            return f"bus {meter.bus!r} is not configured in edge.toml"
        return meter
    return _radio_problem(local, meter, profile) or meter


def _connected(cloud: ConfigMeter, on_site: MeterConfig | None) -> MeterConfig | str:
    """The meter's connection: the cloud's when it names one (an address it leaves null comes from
    ``edge.toml``), else the one ``edge.toml`` gives it; radio details always come from ``edge.toml``."""
    named = [key for key in ("bus", "dev_eui", "imei") if getattr(cloud, key) is not None]
    if len(named) > 1:
        return f"the cloud's config gives it more than one connection ({', '.join(named)})"
    same_device = (
        named != ["bus"]
        and on_site is not None
        and (on_site.dev_eui, on_site.imei)
        == (
            cloud.dev_eui,
            cloud.imei,
        )
    )
    if on_site is not None and (not named or same_device):
        return dataclasses.replace(on_site, poll_interval_s=_interval(cloud, on_site))
    if not named:
        return "no Modbus bus and address, dev_eui or imei in the cloud's config or in edge.toml"
    if named == ["bus"]:
        address = cloud.address if cloud.address is not None else (on_site.address if on_site else None)
        if address is None:
            return "no Modbus address in the cloud's config or in edge.toml"
        return _blank(cloud, bus=cloud.bus, address=address, poll_interval_s=cloud.poll_interval_s)
    return _blank(cloud, dev_eui=cloud.dev_eui, imei=cloud.imei, poll_interval_s=cloud.poll_interval_s)


def _device_on_site(cloud: ConfigMeter, on_site: MeterConfig | None) -> dict[str, Any]:
    """The installed meter's serial, and the installer's readings at a replacement.

    ``edge.toml``'s serial wins when it gives one: the installer at the meter knows which device
    is fitted before the cloud's records do, and then ``edge.toml``'s readings go with it. Else the
    readings are ``edge.toml``'s when it gives either, and otherwise the document's (recorded in the
    cloud with the replacement, and used only if the old meter was the one they name).
    """
    from_cloud = {
        "serial": cloud.serial,
        "old_meter_final_register": _register(cloud, "old_meter_final_reading"),
        "new_meter_first_register": _register(cloud, "new_meter_first_reading"),
        "replaced_serial": cloud.replaced_serial,
    }
    if on_site is None:
        return from_cloud
    own_serial = on_site.serial is not None and on_site.serial != cloud.serial
    own_readings = (on_site.old_meter_final_register, on_site.new_meter_first_register) != (None, None)
    if not own_serial and not own_readings:
        return from_cloud
    return {
        "serial": on_site.serial or cloud.serial,
        "old_meter_final_register": on_site.old_meter_final_register,
        "new_meter_first_register": on_site.new_meter_first_register,
        "replaced_serial": None,
    }


def _register(cloud: ConfigMeter, key: str) -> Decimal | None:
    """A reading of the document (kWh or kL) in base units (Wh or L)."""
    reading: Decimal | None = getattr(cloud, key)
    return None if reading is None else base_units(reading)


def _interval(cloud: ConfigMeter, on_site: MeterConfig) -> int:
    # A radio meter's uplink interval is a site matter (how its device is configured).
    return on_site.poll_interval_s if on_site.transport is not Transport.MODBUS else cloud.poll_interval_s


def _blank(cloud: ConfigMeter, **connection: Any) -> MeterConfig:
    """A meter with only its connection set; :func:`_meter` fills in the rest from the document."""
    fields: dict[str, Any] = {"bus": None, "address": None, **connection}
    return MeterConfig(
        id=cloud.id, unit=cloud.unit, utility=cloud.utility, profile=cloud.profile, wallet_id=None,
        pocket=cloud.pocket, credit_limit_cents=0, **fields,
    )  # fmt: skip


def _radio_problem(local: EdgeConfig, meter: MeterConfig, profile: Profile) -> str | None:
    """Why a LoRaWAN or NB-IoT meter cannot be heard by this gateway, if it cannot."""
    if meter.transport is Transport.LORAWAN and local.lorawan is None:
        return "it is a LoRaWAN meter and edge.toml has no [lorawan] section"
    if meter.transport is Transport.NBIOT:
        if local.nbiot is None:
            return "it is an NB-IoT meter and edge.toml has no [nbiot] section"
        assert meter.imei is not None
        keys = local.nbiot.oscore_context(meter.imei) / "settings.json"
        if not keys.is_file():
            return f"no OSCORE security context for IMEI {meter.imei} on this gateway ({keys})"
    if profile.codec.pulses_become is not None and meter.pulse_weight is None:
        return f"{profile.model_id} counts pulses and edge.toml gives this meter no pulse_weight"
    return None


def _refuse_shared_devices(meters: list[MeterConfig], unreachable: dict[str, str]) -> list[MeterConfig]:
    """A second meter with a DevEUI or IMEI already used would make that device's frames ambiguous."""
    owners: dict[str, str] = {}
    kept = []
    for meter in meters:
        device = meter.dev_eui or meter.imei
        if device is not None and device in owners:
            unreachable[meter.id] = f"its device {device} is already meter {owners[device]}'s"
            continue
        if device is not None:
            owners[device] = meter.id
        kept.append(meter)
    return kept


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

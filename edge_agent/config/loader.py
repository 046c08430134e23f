"""Reading ``edge.toml``: every problem fails at start with the file, the key and what was expected.

The format is documented, with a complete example, in ``docs/edge-config.md``. Relative paths
(the store, tariff files, the key file) are resolved against the config file's folder, so an
installer can move the whole folder. Meters, wallets, tariffs and credit policies in this file are
the starting configuration; once the cloud has sent a configuration document, the one applied last
(kept in the store) replaces them (``edge_agent.config.document``).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from edge_agent.adapters.lorawan.settings import LoRaWANSettings, parse_lorawan
from edge_agent.adapters.nbiot.settings import NbiotSettings, parse_nbiot
from edge_agent.config.meter_entries import MeterContext, parse_meter
from edge_agent.config.model import (
    BusConfig,
    BusKind,
    CloudConfig,
    EdgeConfig,
    JournalConfig,
    MeterConfig,
    Parity,
    SerialLine,
    WebConfig,
)
from edge_agent.config.reader import Section
from edge_agent.errors import ConfigError
from firmware_profiles import ProfileRegistry, Transport, packaged_registry
from shared.credit import CreditError, CreditPolicy, parse_credit_policies
from shared.quantities import Utility
from shared.sync import MAX_BATCH_ENTRIES
from shared.tariffs import TariffError, TariffSchedule, TariffVersion, parse_tariff
from shared.tariffs.calendar_days import supported_countries

TOP_LEVEL_KEYS = {
    "gateway", "web", "journal", "cloud", "buses", "wallets", "meters", "tariffs", "credit",
    "lorawan", "nbiot",
}  # fmt: skip
BUS_KEYS = {"id", "kind", "port", "baud", "parity", "stop_bits", "byte_size", "host", "timeout_ms", "retries"}


def load_config_file(path: Path, registry: ProfileRegistry | None = None) -> EdgeConfig:
    """Read and check the config at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the agent's config: {error.strerror}") from None
    return load_config(text, source=path, registry=registry or packaged_registry())


def load_config(text: str, *, source: Path, registry: ProfileRegistry) -> EdgeConfig:
    """Parse and check config ``text`` that came from ``source``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{source}: not valid TOML: {error}") from None
    root = Section(str(source), "", data)
    root.check_keys(TOP_LEVEL_KEYS)
    base = source.parent
    gateway = root.section("gateway", required=True)
    gateway.check_keys({"id", "name", "timezone", "holiday_country", "store"})
    timezone = _timezone(gateway)
    buses = tuple(_bus(section) for section in root.sections("buses"))
    _refuse_duplicates(root, "buses", [bus.id for bus in buses])
    lorawan, nbiot = _lorawan(root, base, gateway.text("id")), _nbiot(root, base)
    context = MeterContext(
        bus_ids=[bus.id for bus in buses], registry=registry, credit_limits=_wallets(root),
        radio_sections=[t for t, s in ((Transport.LORAWAN, lorawan), (Transport.NBIOT, nbiot)) if s],
    )  # fmt: skip
    meters = tuple(parse_meter(section, context) for section in root.sections("meters"))
    _refuse_duplicates(root, "meters", [meter.id for meter in meters])
    _refuse_duplicate_radio_ids(root, meters)
    tariffs = _tariffs(root.section("tariffs"), base)
    _check_every_meter_has_a_tariff(root, meters, tariffs)
    credit = _credit(root, timezone, {meter.utility for meter in meters})
    return EdgeConfig(
        source=source,
        gateway_id=gateway.text("id"),
        gateway_name=gateway.text("name", gateway.text("id")),
        timezone=timezone,
        holiday_country=_holiday_country(gateway),
        store_path=base / gateway.text("store"),
        web=_web(root.section("web")),
        journal=_journal(root.section("journal")),
        buses=buses,
        meters=meters,
        tariffs=tariffs,
        credit=credit,
        cloud=_cloud(root, base),
        lorawan=lorawan,
        nbiot=nbiot,
    )


def _lorawan(root: Section, base: Path, gateway_id: str) -> LoRaWANSettings | None:
    """``[lorawan]``, read by the bridge's own parser (which needs no MQTT library)."""
    if "lorawan" not in root.table:
        return None
    return parse_lorawan(root.table["lorawan"], source=root.source, base=base, gateway_id=gateway_id)


def _nbiot(root: Section, base: Path) -> NbiotSettings | None:
    """``[nbiot]``, read by the bridge's own parser (which needs no CoAP library)."""
    if "nbiot" not in root.table:
        return None
    return parse_nbiot(root.table["nbiot"], source=root.source, base=base)


def _refuse_duplicate_radio_ids(root: Section, meters: tuple[MeterConfig, ...]) -> None:
    """Two meters with one DevEUI or IMEI would make every frame of that device ambiguous."""
    for key in ("dev_eui", "imei"):
        seen: set[str] = set()
        for index, meter in enumerate(meters):
            value = getattr(meter, key)
            if value is not None and value in seen:
                where = f"{root.source}: meters[{index}].{key}"
                raise ConfigError(f"{where}: {value!r} is used by another meter; it must be unique")
            seen.add(value)


def _cloud(root: Section, base: Path) -> CloudConfig | None:
    """The ``[cloud]`` section, or ``None`` for a stand-alone gateway."""
    if "cloud" not in root.table:
        return None
    section = root.section("cloud")
    section.check_keys({"url", "key_file", "enabled", "sync_interval_s", "batch_entries"})
    url = section.text("url")
    if not url.startswith(("https://", "http://")):
        raise section.fail("url", "the cloud's base URL, starting with https:// (http:// on a lab LAN)", url)
    enabled = section.table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise section.fail("enabled", "true or false", enabled)
    return CloudConfig(
        url=url.rstrip("/"),
        key_file=base / section.text("key_file", "gateway.key"),
        enabled=enabled,
        sync_interval_s=float(section.integer("sync_interval_s", 5, low=1, high=3600)),
        batch_entries=section.integer("batch_entries", MAX_BATCH_ENTRIES, low=1, high=MAX_BATCH_ENTRIES),
    )


def _timezone(gateway: Section) -> str:
    name = gateway.text("timezone", "Africa/Johannesburg")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise gateway.fail("timezone", "an IANA time zone such as Africa/Johannesburg", name) from None
    return name


def _holiday_country(gateway: Section) -> str:
    country = gateway.text("holiday_country", "ZA")
    if country not in supported_countries():
        raise gateway.fail("holiday_country", "an ISO 3166 country code with a holiday calendar", country)
    return country


def _bus(section: Section) -> BusConfig:
    section.check_keys(BUS_KEYS)
    kind = section.choice("kind", BusKind)
    serial, host, port = None, None, None
    if kind is BusKind.RTU:
        serial = SerialLine(
            port=section.text("port"),
            baud=section.integer("baud", 9600, low=1200, high=115200),
            parity=section.choice("parity", Parity, Parity.EVEN),
            stop_bits=section.integer("stop_bits", 1, low=1, high=2),
            byte_size=section.integer("byte_size", 8, low=7, high=8),
        )
    else:
        host = section.text("host")
        port = section.integer("port", 502, low=1, high=65535)
    timeout = section.integer("timeout_ms", 0, low=0, high=10_000) or None
    return BusConfig(
        id=section.text("id"), kind=kind, serial=serial, host=host, port=port, timeout_ms=timeout,
        retries=section.integer("retries", 2, low=0, high=5),
    )  # fmt: skip


def _wallets(root: Section) -> dict[str, int]:
    limits = {}
    for section in root.sections("wallets"):
        section.check_keys({"id", "credit_limit_cents"})
        limits[section.text("id")] = section.integer("credit_limit_cents", 0, low=0, high=10**9)
    return limits


def _tariffs(section: Section, base: Path) -> dict[Utility, TariffSchedule]:
    schedules = {}
    for key, value in section.table.items():
        utility = _utility_key(section, key)
        files = [value] if isinstance(value, str) else value
        if not isinstance(files, list) or not files or not all(isinstance(f, str) for f in files):
            raise section.fail(
                key, "a tariff file path, or a list of them (one per effective-dated version)", value
            )
        versions = [_tariff_version(section, key, base / name) for name in files]
        try:
            schedules[utility] = TariffSchedule.of(versions)
        except TariffError as error:
            raise section.fail(key, f"versions that form one schedule ({error})") from None
    return schedules


def _utility_key(section: Section, key: str) -> Utility:
    try:
        return Utility(key)
    except ValueError:
        raise section.fail(key, f"a utility ({', '.join(u.value for u in Utility)}) as the key") from None


def _tariff_version(section: Section, key: str, path: Path) -> TariffVersion:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise section.fail(key, f"a readable tariff file ({error.strerror})", str(path)) from None
    try:
        return parse_tariff(text, source=str(path))
    except TariffError as error:
        raise ConfigError(f"{section.source}: {section.path}.{key}: {error}") from None


def _credit(root: Section, timezone: str, metered: set[Utility]) -> dict[Utility, CreditPolicy]:
    """Policies per utility; a metered utility without one gets the design's defaults."""
    table = root.section("credit").table
    with_zone = {key: {"timezone": timezone, **value} if isinstance(value, dict) else value
                 for key, value in table.items()}  # fmt: skip
    try:
        policies = parse_credit_policies(with_zone, where="credit")
    except CreditError as error:
        raise ConfigError(f"{root.source}: {error}") from None
    defaults = {u: CreditPolicy(utility=u, timezone=timezone) for u in metered - set(policies)}
    return {**policies, **defaults}


def _check_every_meter_has_a_tariff(
    root: Section, meters: tuple[MeterConfig, ...], tariffs: dict[Utility, TariffSchedule]
) -> None:
    for index, meter in enumerate(meters):
        if meter.utility not in tariffs:
            raise ConfigError(
                f"{root.source}: meters[{index}].utility: meter {meter.id} is {meter.utility} but "
                f"[tariffs] has no {meter.utility} tariff"
            )


def _web(section: Section) -> WebConfig:
    section.check_keys({"host", "port", "installer_password_hash"})
    return WebConfig(
        host=section.text("host", "0.0.0.0"),  # noqa: S104 (the estate's LAN must reach the page)
        port=section.integer("port", 8080, low=0, high=65535),  # 0: any free port (tests)
        installer_password_hash=section.optional_text("installer_password_hash"),
    )


def _journal(section: Section) -> JournalConfig:
    section.check_keys({"group_max_rows", "group_max_wait_ms"})
    return JournalConfig(
        group_max_rows=section.integer("group_max_rows", 512, low=1, high=10_000),
        group_max_wait_ms=section.integer("group_max_wait_ms", 2, low=0, high=1000),
    )


def _refuse_duplicates(root: Section, key: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for index, item in enumerate(ids):
        if item in seen:
            raise ConfigError(f"{root.source}: {key}[{index}].id: {item!r} is used twice; ids must be unique")
        seen.add(item)

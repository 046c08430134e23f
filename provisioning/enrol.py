"""``quantify-provision gateway enrol``: give a gateway its identity, its key and its first config.

    quantify-provision gateway enrol --cloud https://cloud.example --code ABCD-1234 \\
        [--config /etc/quantify/edge.toml] [--key-file /etc/quantify/gateway.key]

1. makes a new Ed25519 key pair, in memory;
2. ``POST ENROL_PATH`` with the one-time code and the public key;
3. only once the cloud accepted it: writes the private key (mode 0600; never printed), the
   cloud's tariffs as files beside the config, and ``edge.toml`` with the gateway id, a ``[cloud]``
   section and the document's wallets, meters and credit policies as the starting configuration.

Local settings in an existing ``edge.toml`` (``[web]``, ``[journal]``, ``[[buses]]``, the store)
are kept; a meter the cloud sends without bus and address keeps the ones ``edge.toml`` gave it.
A meter whose bus is not configured here is left out and named, so the installer can add the bus
(the agent picks the meter up from the cloud's config once the bus exists). Re-enrolling makes a
new key; the cloud revokes the old one. The previous ``edge.toml`` is kept as ``edge.toml.bak``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
from pathlib import Path
from typing import Any

import httpx
import msgspec

from edge_agent.sync.keys import new_key, save_key
from firmware_profiles import packaged_registry
from shared.sync.gateway_api import (
    ENROL_PATH,
    ConfigMeter,
    EnrolRequest,
    EnrolResponse,
    GatewayConfigDocument,
    GatewayRefusal,
)

#: Every enrolment request has this long to be answered.
ENROL_TIMEOUT_S = 30.0
AGENT_VERSION = "quantify-edge 0.1"
LOCAL_SECTIONS = ("web", "journal", "lorawan", "nbiot")
#: A radio meter's details only the site knows (the cloud holds its DevEUI or IMEI, not these).
RADIO_SITE_KEYS = ("uplink_interval_s", "pulse_weight", "pulse_input", "history_period_s")


class EnrolError(Exception):
    """Enrolment failed; the message says why and what to do. Nothing was written."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``gateway enrol`` to the installer's command line."""
    gateway = subparsers.add_parser("gateway", help="gateway identity and enrolment")
    actions = gateway.add_subparsers(dest="gateway_command", required=True, metavar="ACTION")
    enrol = actions.add_parser("enrol", help="enrol this gateway with the cloud using a one-time code")
    enrol.add_argument("--cloud", required=True, help="the cloud's base URL, e.g. https://cloud.example")
    enrol.add_argument("--code", required=True, help="the one-time enrolment code an admin gave you")
    enrol.add_argument(
        "--config", type=Path, default=Path("edge.toml"), help="the agent's edge.toml to write"
    )
    enrol.add_argument(
        "--key-file", type=Path, help="where to keep the private key (default: beside the config)"
    )
    enrol.set_defaults(handler=run)


def run(args: argparse.Namespace, *, transport: httpx.BaseTransport | None = None) -> int:
    """Enrol and write the files; print what was done. Exit 0, or 1 with the reason."""
    config_path: Path = args.config.resolve()
    folder = config_path.parent
    key_path: Path = (args.key_file or folder / "gateway.key").resolve()
    try:
        existing = _existing(config_path)
        key = new_key(key_path)
        response = _post_enrolment(args.cloud, args.code, key.public_key_b64, transport)
        tariffs = _tariff_files(folder, response.config)
        text, left_out = edge_toml(
            existing, response=response, cloud=args.cloud, key_path=key_path, folder=folder,
            tariff_files={utility: list(files) for utility, files in tariffs.items()},
        )  # fmt: skip
    except EnrolError as error:
        print(f"quantify-provision: enrolment failed: {error}", file=sys.stderr)
        return 1
    # The cloud took the key: from here on only the new key is valid, so write it first.
    save_key(key)
    for files in tariffs.values():
        for path, tariff_text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(tariff_text, encoding="utf-8")
    if config_path.exists():
        os.replace(config_path, config_path.with_name(config_path.name + ".bak"))
    config_path.write_text(text, encoding="utf-8")
    _report(response, key_path=key_path, public_key=key.public_key_b64, config_path=config_path,
            tariffs=tariffs, left_out=left_out)  # fmt: skip
    return _check_loads(config_path)


def _check_loads(config_path: Path) -> int:
    """Load the written config as the agent will; a problem is printed for the installer to fix."""
    from edge_agent.config import load_config_file
    from edge_agent.errors import ConfigError

    try:
        load_config_file(config_path)
    except ConfigError as error:
        print(f"quantify-provision: enrolled, but the agent cannot start on {config_path} yet: {error}",
              file=sys.stderr)  # fmt: skip
        return 1
    return 0


def _report(
    response: EnrolResponse,
    *,
    key_path: Path,
    public_key: str,
    config_path: Path,
    tariffs: dict[str, dict[Path, str]],
    left_out: dict[str, str],
) -> None:
    print(f"enrolled gateway {response.gateway_id} for {response.estate_name} ({response.estate_id})")
    print(f"  key:    {key_path} (mode 0600; public key {public_key})")
    print(f"  config: {config_path} (cloud config version {response.config.version})")
    for utility, files in tariffs.items():
        print(f"  tariff: {utility}: {', '.join(str(path) for path in files)}")
    for meter_id, why in left_out.items():
        print(f"  meter {meter_id} left out: {why}")


def _existing(config_path: Path) -> dict[str, Any]:
    if not config_path.exists():
        return {}
    try:
        return tomllib.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise EnrolError(
            f"{config_path}: cannot read the existing config ({error}); fix or move it"
        ) from None


def _post_enrolment(
    cloud: str, code: str, public_key: str, transport: httpx.BaseTransport | None
) -> EnrolResponse:
    request = EnrolRequest(code=code, public_key=public_key, agent_version=AGENT_VERSION)
    url = cloud.rstrip("/") + ENROL_PATH
    try:
        with httpx.Client(transport=transport, timeout=ENROL_TIMEOUT_S) as client:
            answer = client.post(url, content=msgspec.json.encode(request),
                                 headers={"Content-Type": "application/json"})  # fmt: skip
    except httpx.HTTPError as error:
        raise EnrolError(f"cannot reach {url}: {error}") from None
    if answer.status_code == 401:
        try:
            refusal = msgspec.json.decode(answer.content, type=GatewayRefusal)
        except msgspec.MsgspecError:
            raise EnrolError(f"the cloud refused the enrolment: {answer.text[:300]}") from None
        raise EnrolError(
            f"the cloud refused the code ({refusal.reason}: {refusal.detail}); ask for a new code"
        )
    if answer.status_code != 200:
        raise EnrolError(f"{url} answered {answer.status_code}: {answer.text[:300]}")
    try:
        return msgspec.json.decode(answer.content, type=EnrolResponse)
    except msgspec.MsgspecError as error:
        raise EnrolError(f"the cloud's answer is not an enrolment response: {error}") from None


def _tariff_files(folder: Path, document: GatewayConfigDocument) -> dict[str, dict[Path, str]]:
    """Per utility, one file per tariff version under ``tariffs/`` (path → text), in order."""
    return {
        str(utility): {
            folder / "tariffs" / f"cloud-{utility}-{index + 1}.toml": text for index, text in enumerate(texts)
        }
        for utility, texts in document.tariffs.items()
        if texts
    }


def edge_toml(
    existing: dict[str, Any],
    *,
    response: EnrolResponse,
    cloud: str,
    key_path: Path,
    folder: Path,
    tariff_files: dict[str, list[Path]],
) -> tuple[str, dict[str, str]]:
    """The new ``edge.toml`` text, and the meters left out with why."""
    document = response.config
    old_gateway = existing.get("gateway", {})
    sections = [
        _table("gateway", {
            "id": response.gateway_id, "name": response.estate_name, "timezone": document.timezone,
            "holiday_country": document.holiday_country,
            "store": old_gateway.get("store", "var/gateway.sqlite3"),
        }),
        _table("cloud", {"url": cloud.rstrip("/"), "key_file": _relative(key_path, folder), "enabled": True}),
    ]  # fmt: skip
    sections += [_table(name, existing[name]) for name in LOCAL_SECTIONS if name in existing]
    buses = existing.get("buses", [])
    sections += [_table("[buses]", bus) for bus in buses]
    sections += [
        _table("[wallets]", {"id": w.id, "credit_limit_cents": w.credit_limit_cents})
        for w in document.wallets
    ]
    radio = {f"[{name}]" for name in ("lorawan", "nbiot") if name in existing}
    reachable = {bus.get("id") for bus in buses} | radio
    meters, left_out = _meters(document, existing.get("meters", []), reachable, set(tariff_files))
    sections += [_table("[meters]", meter) for meter in meters]
    sections.append(
        _table("tariffs", {u: [_relative(p, folder) for p in paths] for u, paths in tariff_files.items()})
    )
    sections += [_table(f"credit.{utility}", dict(table)) for utility, table in document.credit.items()]
    header = f"# Written by `quantify-provision gateway enrol` for {response.gateway_id}.\n"
    return header + "\n".join(sections), left_out


def _meters(
    document: GatewayConfigDocument, old_meters: list[dict[str, Any]], buses: set[object], tariffs: set[str]
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    on_site = {meter.get("id"): meter for meter in old_meters}
    profiles = packaged_registry()
    written, left_out = [], {}
    for meter in document.meters:
        connection = _connection(meter, on_site.get(meter.id, {}), buses)
        if isinstance(connection, str):
            left_out[meter.id] = connection
            continue
        if meter.profile not in profiles:
            left_out[meter.id] = f"firmware profile {meter.profile!r} is unknown to this agent version"
            continue
        payload = profiles.get(meter.profile).payload
        if payload is not None and payload.pulses_become is not None and "pulse_weight" not in connection:
            left_out[meter.id] = "a pulse counter: give its pulse_weight (litres or Wh a pulse) in edge.toml"
            continue
        if str(meter.utility) not in tariffs:
            left_out[meter.id] = f"the cloud's config has no {meter.utility} tariff yet"
            continue
        table: dict[str, Any] = {
            "id": meter.id, "unit": meter.unit, "utility": str(meter.utility), "profile": meter.profile,
            **connection, "pocket": str(meter.pocket),
        }  # fmt: skip
        if meter.wallet_id is not None:
            table["wallet"] = meter.wallet_id
        written.append(table)
    return written, left_out


def _connection(meter: ConfigMeter, old: dict[str, Any], reachable: set[object]) -> dict[str, Any] | str:
    """The meter's connection keys (the cloud's, else the old ``edge.toml``'s), or why it has none here.

    ``reachable`` holds the configured bus ids and ``[lorawan]``/``[nbiot]`` when those sections exist.
    """
    radio = {key: getattr(meter, key) for key in ("dev_eui", "imei") if getattr(meter, key) is not None}
    if not radio and meter.bus is None:
        radio = {key: old[key] for key in ("dev_eui", "imei") if key in old}
    if radio:
        section = "[lorawan]" if "dev_eui" in radio else "[nbiot]"
        if section not in reachable:
            return f"a radio meter, and this edge.toml has no {section} section: add it"
        site = {key: old[key] for key in RADIO_SITE_KEYS if key in old}
        return {**radio, "uplink_interval_s": meter.poll_interval_s, **site}
    bus = meter.bus if meter.bus is not None else old.get("bus")
    address = meter.address if meter.address is not None else old.get("address")
    if bus is None or address is None:
        return "no Modbus bus and address, DevEUI or IMEI (from the cloud or the old edge.toml)"
    if bus not in reachable:
        return f"bus {bus!r} is not configured here: add it under [[buses]]"
    return {"bus": bus, "address": address, "poll_interval_s": meter.poll_interval_s}


def _relative(path: Path, folder: Path) -> str:
    return str(path.relative_to(folder)) if path.is_relative_to(folder) else str(path)


def _table(name: str, values: dict[str, Any]) -> str:
    """One TOML table (``[name]``, or ``[[name]]`` when ``name`` is ``[name]``) of plain values."""
    lines = [f"[{name}]"] + [f"{_key(key)} = {_value(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def _key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else json.dumps(key)


def _value(value: Any) -> str:
    """A TOML value; JSON's string escapes are TOML's, so strings are written as JSON strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise EnrolError(f"cannot write {value!r} ({type(value).__name__}) to edge.toml")

"""``[lorawan]`` in the agent's config: the broker, the topics and each meter's device.

```toml
[lorawan]
host = "127.0.0.1"            # the MQTT broker ChirpStack's integration publishes to
port = 1883                   # default 8883 with tls = true
tls = false
ca_file = "ca.pem"            # optional with tls: the CA that signed the broker's certificate
cert_file = "gw.pem"          # optional: a client certificate (and key_file) for mutual TLS
key_file = "gw.key"
username = "quantify"         # optional
password = "secret"           # optional, only with username
client_id = "quantify-gw-1"   # default "quantify-<gateway id>"; a persistent session needs a fixed one
clean_session = false         # false: the broker keeps our QoS 1 events while we reconnect
topic_prefix = "application"  # ChirpStack's default topic template starts with "application"
application_ids = []          # subscribe to these applications only; empty: every application
ack_timeout_s = 300           # wait for the meter to acknowledge a relay downlink
state_timeout_s = 300         # then for an uplink reporting the relay
reconnect_max_s = 30          # reconnect backoff cap
max_queued_events = 20000     # events received and not yet processed, at most

[[lorawan.devices]]
meter = "m7"                  # a [[meters]] id
dev_eui = "24e124128c123456"  # 16 hex digits
application_id = "17c82e96-be03-4f38-aef3-f83d48582d97"  # optional: learned from its uplinks
pulse_weight = "10"           # pulse counters: litres or Wh per pulse, a decimal string
pulse_input = "A"             # optional: the input of a multi-input pulse device
history_period_s = 3600       # optional: logging period where only the device's config says
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from edge_agent.adapters.frames.table import Table, refuse_duplicates

_DEV_EUI = re.compile(r"[0-9a-f]{16}")
_TOPIC_PART = re.compile(r"[^#+/\s]+")
_KEYS = {
    "host",
    "port",
    "tls",
    "ca_file",
    "cert_file",
    "key_file",
    "username",
    "password",
    "client_id",
    "clean_session",
    "topic_prefix",
    "application_ids",
    "ack_timeout_s",
    "state_timeout_s",
    "reconnect_max_s",
    "max_queued_events",
    "devices",
}
_DEVICE_KEYS = {"meter", "dev_eui", "application_id", "pulse_weight", "pulse_input", "history_period_s"}


@dataclass(frozen=True, slots=True)
class LoRaWANDevice:
    """One meter behind ChirpStack: its DevEUI and the per-meter decode options."""

    meter_id: str
    dev_eui: str
    application_id: str | None = None
    pulse_weight: Decimal | None = None
    pulse_input: str | None = None
    history_period_s: int | None = None


@dataclass(frozen=True, slots=True)
class LoRaWANSettings:
    """The bridge's broker connection, topics and bounds."""

    host: str = "127.0.0.1"
    port: int = 1883
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    client_id: str = "quantify-gateway"
    clean_session: bool = False
    topic_prefix: str = "application"
    application_ids: tuple[str, ...] = ()
    ack_timeout_s: float = 300.0
    state_timeout_s: float = 300.0
    reconnect_max_s: float = 30.0
    max_queued_events: int = 20_000
    devices: tuple[LoRaWANDevice, ...] = ()


def parse_lorawan(data: object, *, source: str, base: Path, gateway_id: str) -> LoRaWANSettings:
    """Check and read the ``[lorawan]`` table; errors name ``source`` and the key path."""
    table = Table(source, "lorawan", data)
    table.check_keys(_KEYS)
    tls = table.boolean("tls", False)
    username = table.optional_text("username")
    if "password" in table.data and username is None:
        raise table.fail("username", "a username, since a password is given")
    cert_file = table.path_value("cert_file", base)
    key_file = table.path_value("key_file", base)
    if (cert_file is None) != (key_file is None):
        raise table.fail("key_file", "cert_file and key_file given together")
    if (cert_file is not None or "ca_file" in table.data) and not tls:
        raise table.fail("tls", "true, since TLS files are given", False)
    devices = _devices(table)
    return LoRaWANSettings(
        host=table.text("host", "127.0.0.1"),
        port=table.integer("port", 8883 if tls else 1883, low=1, high=65535),
        tls=tls,
        ca_file=table.path_value("ca_file", base),
        cert_file=cert_file,
        key_file=key_file,
        username=username,
        password=table.optional_text("password"),
        client_id=table.text("client_id", f"quantify-{gateway_id}"),
        clean_session=table.boolean("clean_session", False),
        topic_prefix=_topic_part(table, "topic_prefix", table.text("topic_prefix", "application")),
        application_ids=_application_ids(table),
        ack_timeout_s=table.seconds("ack_timeout_s", 300.0, low=1, high=86_400),
        state_timeout_s=table.seconds("state_timeout_s", 300.0, low=1, high=86_400),
        reconnect_max_s=table.seconds("reconnect_max_s", 30.0, low=1, high=3600),
        max_queued_events=table.integer("max_queued_events", 20_000, low=100, high=1_000_000),
        devices=devices,
    )


def _devices(table: Table) -> tuple[LoRaWANDevice, ...]:
    entries = table.tables("devices")
    devices = []
    for entry in entries:
        entry.check_keys(_DEVICE_KEYS)
        dev_eui = entry.text("dev_eui").lower()
        if not _DEV_EUI.fullmatch(dev_eui):
            raise entry.fail("dev_eui", "16 hexadecimal digits", entry.data["dev_eui"])
        application_id = entry.optional_text("application_id")
        if application_id is not None:
            _topic_part(entry, "application_id", application_id)
        devices.append(
            LoRaWANDevice(
                meter_id=entry.text("meter"),
                dev_eui=dev_eui,
                application_id=application_id,
                pulse_weight=entry.positive_decimal("pulse_weight"),
                pulse_input=entry.optional_text("pulse_input"),
                history_period_s=entry.optional_integer("history_period_s", low=1, high=31 * 86_400),
            )
        )
    refuse_duplicates(entries, "meter", [d.meter_id for d in devices])
    refuse_duplicates(entries, "dev_eui", [d.dev_eui for d in devices])
    return tuple(devices)


def _topic_part(table: Table, key: str, value: str) -> str:
    if not _TOPIC_PART.fullmatch(value):
        raise table.fail(key, "one MQTT topic level (no '/', '+', '#' or spaces)", value)
    return value


def _application_ids(table: Table) -> tuple[str, ...]:
    return tuple(_topic_part(table, "application_ids", value) for value in table.text_list("application_ids"))

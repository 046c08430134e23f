"""``[lorawan]`` in the agent's config: the broker ChirpStack publishes to, and the topics.

```toml
[lorawan]
host = "127.0.0.1"            # the MQTT broker ChirpStack's integration publishes to
port = 1883                   # default 8883 with tls = true
tls = false
ca_file = "ca.pem"            # optional with tls: the CA that signed the broker's certificate
cert_file = "gw.pem"          # optional: a client certificate (and key_file) for mutual TLS
key_file = "gw.key"
username = "quantify"         # optional
password_file = "mqtt.pass"   # optional, only with username: a file holding the password
client_id = "quantify-gw-1"   # default "quantify-<gateway id>"; a persistent session needs a fixed one
clean_session = false         # false: the broker keeps our QoS 1 events while we reconnect
topic_prefix = "application"  # ChirpStack's default topic template starts with "application"
application_ids = []          # subscribe to these applications only; empty: every application
ack_timeout_s = 300           # wait for the meter to acknowledge a relay downlink
state_timeout_s = 300         # then for an uplink reporting the relay
reconnect_max_s = 30          # reconnect backoff cap
max_queued_events = 20000     # events received and not yet processed, at most
lost_after_intervals = 3      # a meter silent this many uplink intervals is "communication lost"
```

The meters themselves are ``[[meters]]`` entries with a ``dev_eui`` (``edge_agent.config``); the
daemon turns them into :attr:`LoRaWANSettings.devices`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from edge_agent.adapters.frames.table import Table

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
    "password_file",
    "client_id",
    "clean_session",
    "topic_prefix",
    "application_ids",
    "ack_timeout_s",
    "state_timeout_s",
    "reconnect_max_s",
    "max_queued_events",
    "lost_after_intervals",
}


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
    #: A meter silent for this many of its uplink intervals raises ``communication_lost``.
    lost_after_intervals: int = 3
    #: The meters behind ChirpStack, from ``[[meters]]`` entries with a ``dev_eui``.
    devices: tuple[LoRaWANDevice, ...] = ()


def parse_lorawan(data: object, *, source: str, base: Path, gateway_id: str) -> LoRaWANSettings:
    """Check and read the ``[lorawan]`` table; errors name ``source`` and the key path."""
    table = Table(source, "lorawan", data)
    table.check_keys(_KEYS)
    tls = table.boolean("tls", False)
    username = table.optional_text("username")
    password = _password(table, base)
    if password is not None and username is None:
        raise table.fail("username", "a username, since a password is given")
    cert_file = table.path_value("cert_file", base)
    key_file = table.path_value("key_file", base)
    if (cert_file is None) != (key_file is None):
        raise table.fail("key_file", "cert_file and key_file given together")
    if (cert_file is not None or "ca_file" in table.data) and not tls:
        raise table.fail("tls", "true, since TLS files are given", False)
    return LoRaWANSettings(
        host=table.text("host", "127.0.0.1"),
        port=table.integer("port", 8883 if tls else 1883, low=1, high=65535),
        tls=tls,
        ca_file=table.path_value("ca_file", base),
        cert_file=cert_file,
        key_file=key_file,
        username=username,
        password=password,
        client_id=table.text("client_id", f"quantify-{gateway_id}"),
        clean_session=table.boolean("clean_session", False),
        topic_prefix=_topic_part(table, "topic_prefix", table.text("topic_prefix", "application")),
        application_ids=_application_ids(table),
        ack_timeout_s=table.seconds("ack_timeout_s", 300.0, low=1, high=86_400),
        state_timeout_s=table.seconds("state_timeout_s", 300.0, low=1, high=86_400),
        reconnect_max_s=table.seconds("reconnect_max_s", 30.0, low=1, high=3600),
        max_queued_events=table.integer("max_queued_events", 20_000, low=100, high=1_000_000),
        lost_after_intervals=table.integer("lost_after_intervals", 3, low=1, high=1000),
    )


def _password(table: Table, base: Path) -> str | None:
    """``password``, or the first line of ``password_file`` (kept out of the config file)."""
    if "password" in table.data and "password_file" in table.data:
        raise table.fail("password_file", "password or password_file, not both")
    path = table.path_value("password_file", base)
    if path is None:
        return table.optional_text("password")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise table.fail("password_file", f"a readable file ({error.strerror})", str(path)) from None
    if not lines or not lines[0].strip():
        raise table.fail("password_file", "a file whose first line is the password", str(path))
    return lines[0].strip()


def _topic_part(table: Table, key: str, value: str) -> str:
    if not _TOPIC_PART.fullmatch(value):
        raise table.fail(key, "one MQTT topic level (no '/', '+', '#' or spaces)", value)
    return value


def _application_ids(table: Table) -> tuple[str, ...]:
    return tuple(_topic_part(table, "application_ids", value) for value in table.text_list("application_ids"))

"""``[nbiot]`` in the agent's config: where the CoAP server listens and each meter's device.

```toml
[nbiot]
host = "0.0.0.0"              # the address the gateway's CoAP server binds (UDP)
port = 5683
path = "uplink"               # meters POST their frames to coap://<gateway>:5683/uplink
command_timeout_s = 3600      # wait for the meter's next POST to collect a relay command
state_timeout_s = 3600        # then for its next POST reporting the relay

[[nbiot.devices]]
meter = "m9"                  # a [[meters]] id
imei = "1122334455667788"     # the IMEI the meter's frames carry (15 or 16 digits, as its BCD)
oscore = "oscore/m9"          # the meter's OSCORE security context: a folder with settings.json
                              # (sender-id, recipient-id, secret, salt, algorithm) that the agent
                              # also writes sequence.json into (replay window, sequence numbers)
pulse_weight = "10"           # pulse counters: litres or Wh per pulse, a decimal string
pulse_input = "A"             # optional
history_period_s = 3600       # optional
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from edge_agent.adapters.frames.table import Table, refuse_duplicates

_IMEI = re.compile(r"[0-9]{15,16}")
_PATH = re.compile(r"[A-Za-z0-9_.~-]+")
_KEYS = {"host", "port", "path", "command_timeout_s", "state_timeout_s", "devices"}
_DEVICE_KEYS = {"meter", "imei", "oscore", "pulse_weight", "pulse_input", "history_period_s"}


@dataclass(frozen=True, slots=True)
class NbiotDevice:
    """One NB-IoT meter: its IMEI, its OSCORE context folder and per-meter decode options."""

    meter_id: str
    imei: str
    oscore_dir: Path
    pulse_weight: Decimal | None = None
    pulse_input: str | None = None
    history_period_s: int | None = None


@dataclass(frozen=True, slots=True)
class NbiotSettings:
    """The CoAP server's address, resource and bounds."""

    #: Every interface by default: meters reach the gateway from the operator's network, and OSCORE
    #: authenticates every request, so listening widely exposes nothing unauthenticated.
    host: str = "0.0.0.0"  # noqa: S104
    port: int = 5683
    path: str = "uplink"
    command_timeout_s: float = 3600.0
    state_timeout_s: float = 3600.0
    devices: tuple[NbiotDevice, ...] = ()


def parse_nbiot(data: object, *, source: str, base: Path) -> NbiotSettings:
    """Check and read the ``[nbiot]`` table; errors name ``source`` and the key path."""
    table = Table(source, "nbiot", data)
    table.check_keys(_KEYS)
    path = table.text("path", "uplink")
    if not _PATH.fullmatch(path):
        raise table.fail("path", "one URI path segment (letters, digits, '-', '_', '.', '~')", path)
    return NbiotSettings(
        host=table.text("host", "0.0.0.0"),  # noqa: S104 (see NbiotSettings.host)
        port=table.integer("port", 5683, low=0, high=65535),
        path=path,
        command_timeout_s=table.seconds("command_timeout_s", 3600.0, low=1, high=7 * 86_400),
        state_timeout_s=table.seconds("state_timeout_s", 3600.0, low=1, high=7 * 86_400),
        devices=_devices(table, base),
    )


def _devices(table: Table, base: Path) -> tuple[NbiotDevice, ...]:
    entries = table.tables("devices")
    devices = []
    for entry in entries:
        entry.check_keys(_DEVICE_KEYS)
        imei = entry.text("imei")
        if not _IMEI.fullmatch(imei):
            raise entry.fail("imei", "15 or 16 decimal digits", imei)
        oscore_dir = entry.path_value("oscore", base)
        if oscore_dir is None:
            raise entry.fail("oscore", "the folder of the meter's OSCORE security context")
        devices.append(
            NbiotDevice(
                meter_id=entry.text("meter"),
                imei=imei,
                oscore_dir=oscore_dir,
                pulse_weight=entry.positive_decimal("pulse_weight"),
                pulse_input=entry.optional_text("pulse_input"),
                history_period_s=entry.optional_integer("history_period_s", low=1, high=31 * 86_400),
            )
        )
    refuse_duplicates(entries, "meter", [d.meter_id for d in devices])
    refuse_duplicates(entries, "imei", [d.imei for d in devices])
    refuse_duplicates(entries, "oscore", [str(d.oscore_dir) for d in devices])
    return tuple(devices)

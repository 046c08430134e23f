"""``[nbiot]`` in the agent's config: where the CoAP server listens and where the meters' keys are.

```toml
[nbiot]
host = "0.0.0.0"              # the address the gateway's CoAP server binds (UDP)
port = 5683
path = "uplink"               # meters POST their frames to coap://<gateway>:5683/uplink
oscore_dir = "/var/lib/quantify/oscore"  # one OSCORE security context folder per meter, named by
                              # its IMEI: <oscore_dir>/<imei>/settings.json (sender-id,
                              # recipient-id, secret, salt, algorithm); the agent also writes
                              # sequence.json there (replay window, sequence numbers)
command_timeout_s = 3600      # wait for the meter's next POST to collect a relay command
state_timeout_s = 3600        # then for its next POST reporting the relay
lost_after_intervals = 3      # a meter silent this many uplink intervals is "communication lost"
```

The meters themselves are ``[[meters]]`` entries with an ``imei`` (``edge_agent.config``); the
daemon turns them into :attr:`NbiotSettings.devices`. The keys stay out of the config file (and out
of any repository): ``oscore_dir`` points at a folder the installer provisions on the gateway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from edge_agent.adapters.frames.table import Table

_PATH = re.compile(r"[A-Za-z0-9_.~-]+")
_KEYS = {"host", "port", "path", "oscore_dir", "command_timeout_s", "state_timeout_s", "lost_after_intervals"}


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
    #: Holds one OSCORE context folder per meter, named by the meter's IMEI.
    oscore_dir: Path = Path("oscore")
    #: A meter silent for this many of its uplink intervals raises ``communication_lost``.
    lost_after_intervals: int = 3
    #: The NB-IoT meters, from ``[[meters]]`` entries with an ``imei``.
    devices: tuple[NbiotDevice, ...] = ()

    def oscore_context(self, imei: str) -> Path:
        """The folder of the meter's OSCORE security context."""
        return self.oscore_dir / imei


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
        oscore_dir=base / table.text("oscore_dir", "oscore"),
        lost_after_intervals=table.integer("lost_after_intervals", 3, low=1, high=1000),
    )

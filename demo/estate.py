"""The demo estate's simulated meters, and the gateway's local configuration before enrolment.

The cloud's seed (``cloud/seed.py``) puts every unit's DDS238-2 on the bus ``demo-bus`` at the
unit's number and the bulk SDM630 at 100; the simulator serves exactly those, with loads that
differ from unit to unit. What the gateway reads and bills comes from the cloud once it is enrolled:
here we write only what stays local (the store, the page, the bus).
"""

from __future__ import annotations

from pathlib import Path

from cloud.seed import BULK_ADDRESS, DEMO_BUS, UNIT_COUNT

#: Average load per unit (W), before the daily shape; unit n uses LOADS_W[n % len(LOADS_W)].
LOADS_W = (1800, 900, 2400, 1200, 3000, 600)
BULK_LOAD_W = 18_000


def simulator_arguments() -> list[str]:
    """``--meter UNIT:MODEL:WATTS`` options for ``python -m demo.simulator``."""
    arguments = []
    for number in range(1, UNIT_COUNT + 1):
        arguments += ["--meter", f"{number}:hiking-dds238-2:{LOADS_W[number % len(LOADS_W)]}"]
    return [*arguments, "--meter", f"{BULK_ADDRESS}:eastron-sdm630:{BULK_LOAD_W}"]


def local_gateway_config(store: Path, modbus_port: int, page_port: int) -> str:
    """``edge.toml`` before enrolment: the settings that stay on site (store, page, buses)."""
    return f"""# Written by `make demo`; enrolment adds the gateway id, [cloud] and the cloud's meters.
[gateway]
id = "not-enrolled-yet"
name = "Demo estate gateway"
store = "{store}"

[web]
host = "127.0.0.1"
port = {page_port}

[[buses]]
id = "{DEMO_BUS}"
kind = "tcp"
host = "127.0.0.1"
port = {modbus_port}
"""

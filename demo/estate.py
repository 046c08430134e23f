"""The demo estate: its simulated meters and the gateway configuration that reads them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
FLAT_TARIFF = REPO_ROOT / "examples" / "tariffs" / "flat.toml"


@dataclass(frozen=True, slots=True)
class DemoMeter:
    """A unit's meter on the demo's Modbus bus."""

    meter_id: str
    unit: str
    profile: str
    address: int
    load_w: int
    wallet: str | None


METERS = (
    DemoMeter("unit-01-electricity", "Unit 1", "hiking-dds238-2", 1, 1800, "wallet-unit-01"),
    DemoMeter("unit-02-electricity", "Unit 2", "hiking-dds238-2", 2, 900, "wallet-unit-02"),
    DemoMeter("unit-03-electricity", "Unit 3", "hiking-dds238-2", 3, 2400, "wallet-unit-03"),
    DemoMeter("bulk-electricity", "Bulk supply", "eastron-sdm630", 10, 5100, None),
)


def simulator_arguments() -> list[str]:
    """``--meter UNIT:MODEL:WATTS`` options for ``python -m demo.simulator``."""
    arguments = []
    for meter in METERS:
        arguments += ["--meter", f"{meter.address}:{meter.profile}:{meter.load_w}"]
    return arguments


def gateway_config(store: Path, modbus_port: int, page_port: int) -> str:
    """``edge.toml`` for the demo gateway: one Modbus TCP bus to the simulator, a flat tariff."""
    lines = [
        "# Written by `make demo`; see docs/edge-config.md for every key.",
        f'[gateway]\nid = "gw-demo-estate"\nname = "Demo estate gateway"\nstore = "{store}"',
        f'[web]\nhost = "127.0.0.1"\nport = {page_port}',
        f'[[buses]]\nid = "demo-bus"\nkind = "tcp"\nhost = "127.0.0.1"\nport = {modbus_port}',
        f'[tariffs]\nelectricity = "{FLAT_TARIFF}"',
    ]
    for meter in METERS:
        wallet = f'wallet = "{meter.wallet}"' if meter.wallet else "# a bulk meter: read, never charged"
        lines.append(
            f'[[meters]]\nid = "{meter.meter_id}"\nunit = "{meter.unit}"\nutility = "electricity"\n'
            f'profile = "{meter.profile}"\nbus = "demo-bus"\naddress = {meter.address}\n'
            f"poll_interval_s = 5\n{wallet}"
        )
    return "\n\n".join(lines) + "\n"

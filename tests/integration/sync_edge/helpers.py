"""A gateway agent wired to the test peer: its config, its key, its clock, and entries on demand."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge_agent.config import MeterConfig, load_config
from edge_agent.daemon import GatewayAgent
from edge_agent.sync.client import SyncClient
from edge_agent.sync.keys import generate_key
from firmware_profiles import packaged_registry
from shared.journal import Pocket, ReadingSource
from shared.quantities import Measurement, Utility
from shared.sync.gateway_api import ConfigMeter, ConfigWallet, GatewayConfigDocument
from tests.integration.sync_edge.peer import PeerState
from tests.support.paths import REPO_ROOT

GATEWAY_ID = "gw-sync"
FLAT = REPO_ROOT / "examples" / "tariffs" / "flat.toml"  # R2.85/kWh and R5.20/day
START = datetime(2026, 8, 3, 9, 0, tzinfo=UTC)  # a Monday morning, outside any friendly window
CREDIT = {"reconnect_threshold_cents": 2000, "low_credit_warning_cents": False}


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now


def cloud_meter(
    meter_id: str, profile: str = "eastron-sdm120", address: int = 1, wallet: str | None = "w1"
) -> ConfigMeter:
    return ConfigMeter(
        id=meter_id, unit=f"Unit {meter_id}", utility=Utility.ELECTRICITY, profile=profile,
        wallet_id=wallet, pocket=Pocket.ELECTRICITY, bus="bus", address=address, poll_interval_s=1,
    )  # fmt: skip


def document(version: int, meters: list[ConfigMeter], **changes: object) -> GatewayConfigDocument:
    fields: dict[str, object] = {
        "version": version,
        "gateway_id": GATEWAY_ID,
        "estate_id": "estate-1",
        "timezone": "Africa/Johannesburg",
        "holiday_country": "ZA",
        "meters": meters,
        "wallets": [ConfigWallet(id="w1")],
        "tariffs": {Utility.ELECTRICITY: [FLAT.read_text()]},
        "credit": {Utility.ELECTRICITY: CREDIT},
    }
    return GatewayConfigDocument(**{**fields, **changes})  # type: ignore[arg-type]


def edge_toml(folder: Path, cloud_url: str, modbus_port: int, meters: list[tuple[str, str, int]]) -> str:
    """A gateway on one Modbus TCP bus with a ``[cloud]`` section; meters as (id, profile, address)."""
    text = [
        f'[gateway]\nid = "{GATEWAY_ID}"\nstore = "{folder / "gw.sqlite3"}"',
        '[web]\nhost = "127.0.0.1"\nport = 0',
        f'[cloud]\nurl = "{cloud_url}"\nkey_file = "gateway.key"\nsync_interval_s = 1',
        f'[[buses]]\nid = "bus"\nkind = "tcp"\nhost = "127.0.0.1"\nport = {modbus_port}\ntimeout_ms = 300\nretries = 0',
        f'[tariffs]\nelectricity = "{FLAT}"',
        "[credit.electricity]\nreconnect_threshold_cents = 2000\nlow_credit_warning_cents = false",
    ]
    for meter_id, profile, address in meters:
        text.append(
            f'[[meters]]\nid = "{meter_id}"\nunit = "Unit {meter_id}"\nutility = "electricity"\n'
            f'profile = "{profile}"\nbus = "bus"\naddress = {address}\npoll_interval_s = 1\nwallet = "w1"'
        )
    return "\n".join(text)


@dataclass
class GatewayUnderTest:
    agent: GatewayAgent
    clock: Clock
    registers: dict[str, Decimal] = field(default_factory=dict)

    @property
    def sync(self) -> SyncClient:
        assert self.agent.sync is not None
        return self.agent.sync

    async def read(
        self, meter_id: str = "m1", kwh: str = "0.5", after: timedelta = timedelta(minutes=15)
    ) -> None:
        """A reading of ``kwh`` more than the last one, ``after`` later: a reading and a charge entry."""
        self.clock.now += after
        register = self.registers.get(meter_id, Decimal(1000)) + Decimal(kwh)
        self.registers[meter_id] = register
        await self.agent.billing.on_reading(
            meter_id, {Measurement.ENERGY_IMPORT_WH: register * 1000}, self.clock.now, ReadingSource.MODBUS
        )

    def meter(self, meter_id: str) -> MeterConfig:
        meter = self.agent.meter_config(meter_id)
        assert meter is not None
        return meter


def enrolled_key(folder: Path, state: PeerState) -> None:
    """Make the gateway's key and enrol its public half with the peer, as enrolment would."""
    key = generate_key(folder / "gateway.key")
    state.keys[GATEWAY_ID] = Ed25519PublicKey.from_public_bytes(base64.b64decode(key.public_key_b64))


@asynccontextmanager
async def gateway(
    folder: Path,
    cloud_url: str,
    *,
    modbus_port: int = 9,
    meters: list[tuple[str, str, int]] | None = None,
    clock: Clock | None = None,
) -> AsyncIterator[GatewayUnderTest]:
    """An agent (not running its loops: tests drive the sync client) on the store in ``folder``."""
    text = edge_toml(
        folder, cloud_url, modbus_port, meters if meters is not None else [("m1", "eastron-sdm120", 1)]
    )
    config = load_config(text, source=folder / "edge.toml", registry=packaged_registry())
    clock = clock or Clock()
    agent = GatewayAgent(config, clock=clock)
    try:
        yield GatewayUnderTest(agent, clock)
    finally:
        if agent.sync is not None:
            await agent.sync.transport.aclose()
        await agent.shutdown([])

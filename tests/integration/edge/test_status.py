"""What the local page shows comes from what the agent itself saw: here, a meter's last read failure."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from edge_agent.adapters.modbus.errors import FailureKind
from edge_agent.adapters.modbus.readings import MeterReading, ReadFailure
from edge_agent.config import load_config
from edge_agent.daemon import GatewayAgent
from firmware_profiles import packaged_registry
from shared.quantities import Measurement
from tests.bench.bench_edge_pipeline import FLAT, estate_config

pytestmark = pytest.mark.anyio
AT = datetime(2026, 8, 3, 9, 0, tzinfo=UTC)


async def test_the_page_shows_a_meters_last_read_failure_until_it_answers_again(tmp_path: Path) -> None:
    text = estate_config(tmp_path / "gw.sqlite3", 2, FLAT)
    agent = GatewayAgent(load_config(text, source=tmp_path / "edge.toml", registry=packaged_registry()))
    failure = ReadFailure(
        FailureKind.TIMEOUT, "m0: no answer to read of 27 registers at 0x0000 within 500 ms"
    )
    try:
        await agent.on_reading(MeterReading("m0", AT, {}, failure))
        shown = {m.id: m.health.last_error for m in agent.status().meters}
        assert shown == {"m0": f"timeout: {failure.detail}", "m1": None}

        await agent.on_reading(MeterReading("m0", AT, {Measurement.ENERGY_IMPORT_WH: Decimal(1000)}))
        assert agent.status().meters[0].health.last_error is None
    finally:
        await agent.shutdown([])

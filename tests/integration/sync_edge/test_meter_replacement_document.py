"""A meter's serial changed in the cloud's configuration document is a meter replacement too, billed
with the installer's readings when the document carries them."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from edge_agent.config import load_config
from edge_agent.config.document import config_from_document
from edge_agent.errors import ConfigError
from firmware_profiles import packaged_registry
from shared.journal import Alarm, AlarmKind, Charge, MeterReplaced, Reading, decode_entry
from shared.sync.gateway_api import GatewayConfigDocument
from tests.integration.sync_edge.helpers import cloud_meter, document, edge_toml, enrolled_key, gateway
from tests.integration.sync_edge.peer import PeerState, serving
from tests.integration.sync_edge.test_upload import journal

pytestmark = pytest.mark.anyio


async def test_a_new_serial_in_the_cloud_document_replaces_the_meter_at_its_next_reading(
    tmp_path: Path,
) -> None:
    with_serial = msgspec.structs.replace(cloud_meter("m1"), bus=None, address=None, serial="OLD-7")
    state = PeerState(document=document(1, [with_serial]))
    enrolled_key(tmp_path, state)
    async with serving(state) as url, gateway(tmp_path, url) as gw:
        await gw.sync.sync_now()
        for _ in range(3):
            await gw.read()
        assert gw.agent.billing.states["m1"].serial == "OLD-7", "the cloud's serial is adopted"
        state.document = document(2, [msgspec.structs.replace(with_serial, serial="NEW-7")])
        await gw.sync.sync_now()
        gw.registers["m1"] = Decimal("0.2")  # the new meter starts low: 0.2 kWh, then advances
        for _ in range(2):
            await gw.read()
        entries = [decode_entry(e) for e in journal(gw.agent)]
    swaps = [e.body for e in entries if isinstance(e.body, MeterReplaced)]
    assert [(s.old_serial, s.new_serial) for s in swaps] == [("OLD-7", "NEW-7")]
    assert swaps[0].old_final_register == Decimal(1_001_500), "the old meter's last reading"
    assert swaps[0].new_first_register == Decimal(700), "the new meter's first reading"
    assert not [e for e in entries if isinstance(e.body, Alarm) and e.body.kind is AlarmKind.REVERSE_REGISTER]
    readings = [e.body.billing_register for e in entries if isinstance(e.body, Reading)]
    energy = sum(e.body.quantity for e in entries if isinstance(e.body, Charge) and e.body.band == "flat")
    assert energy == (Decimal(1_001_500) - readings[0]) + (readings[-1] - Decimal(700))


async def test_the_installers_readings_in_the_cloud_document_are_billed_across_the_swap(
    tmp_path: Path,
) -> None:
    with_serial = msgspec.structs.replace(cloud_meter("m1"), bus=None, address=None, serial="OLD-8")
    state = PeerState(document=document(1, [with_serial]))
    enrolled_key(tmp_path, state)
    async with serving(state) as url, gateway(tmp_path, url) as gw:
        await gw.sync.sync_now()
        for _ in range(3):
            await gw.read()
        replaced = msgspec.structs.replace(
            with_serial, serial="NEW-8", replaced_serial="OLD-8", old_meter_final_reading=Decimal("1001.52"),
            new_meter_first_reading=Decimal("0.15"),
        )  # fmt: skip
        state.document = document(2, [replaced])
        await gw.sync.sync_now()
        gw.registers["m1"] = Decimal("0.2")
        for _ in range(2):
            await gw.read()
        entries = [decode_entry(e) for e in journal(gw.agent)]
    [swap] = [e.body for e in entries if isinstance(e.body, MeterReplaced)]
    assert (swap.old_final_register, swap.new_first_register) == (Decimal(1_001_520), Decimal(150))
    readings = [e.body.billing_register for e in entries if isinstance(e.body, Reading)]
    assert readings[0] is not None and readings[-1] is not None
    energy = sum(e.body.quantity for e in entries if isinstance(e.body, Charge) and e.body.band == "flat")
    assert energy == (Decimal(1_001_520) - readings[0]) + (readings[-1] - Decimal(150))


def test_a_document_written_before_the_readings_existed_still_reads() -> None:
    current = document(3, [msgspec.structs.replace(cloud_meter("m1"), serial="S-1")])
    older = msgspec.json.decode(msgspec.json.encode(current))
    for meter in older["meters"]:
        del meter["replaced_serial"], meter["old_meter_final_reading"], meter["new_meter_first_reading"]

    decoded = msgspec.json.decode(msgspec.json.encode(older), type=GatewayConfigDocument)

    assert decoded == current
    assert decoded.meters[0].old_meter_final_reading is None


def test_a_negative_reading_in_the_document_refuses_the_document(tmp_path: Path) -> None:
    local = load_config(edge_toml(tmp_path, "https://c.example", 502, []), source=tmp_path / "e.toml",
                        registry=packaged_registry())  # fmt: skip
    meter = msgspec.structs.replace(cloud_meter("m1"), serial="S-2", new_meter_first_reading=Decimal(-1))
    with pytest.raises(ConfigError, match=r"cloud config version 4: meters\[0\]\.new_meter_first_reading"):
        config_from_document(local, document(4, [meter]), packaged_registry())

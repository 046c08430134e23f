"""A meter's serial changed in the cloud's configuration document is a meter replacement too."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from shared.journal import Alarm, AlarmKind, Charge, MeterReplaced, Reading, decode_entry
from tests.integration.sync_edge.helpers import cloud_meter, document, enrolled_key, gateway
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

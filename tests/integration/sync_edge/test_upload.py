"""Journal upload: bounded batches of committed entries, the ack as the only proof of delivery.

Against the peer over real HTTP: a backlog drains in order with no gap and no duplicate; a cloud
away changes nothing but the delay; a lost ack, a cloud that forgot entries (gap) and a broken
chain are each resumed from what the cloud says it holds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.store.queries import acknowledged_seq, iter_encoded_entries
from edge_agent.sync.client import BrokenChainRefused
from edge_agent.sync.errors import CloudUnavailable
from shared.journal import Alarm, AlarmKind, decode_entry
from tests.integration.sync_edge.helpers import document, enrolled_key, gateway
from tests.integration.sync_edge.peer import PeerState, serving

pytestmark = pytest.mark.anyio


def journal(agent: object) -> list[bytes]:
    return list(iter_encoded_entries(agent.reader))  # type: ignore[attr-defined]


async def test_backlog_drains_in_bounded_batches_and_survives_a_cloud_away(tmp_path: Path) -> None:
    state = PeerState(document=document(0, []))
    enrolled_key(tmp_path, state)
    async with serving(state) as url, gateway(tmp_path, url) as gw:
        gw.sync.uploader.batch_entries = 25
        for _ in range(40):
            await gw.read()
        state.unavailable = True
        with pytest.raises(CloudUnavailable):
            await gw.sync.sync_now()
        assert acknowledged_seq(gw.agent.reader) == 0, "nothing is delivered until an ack says so"
        state.unavailable = False
        sent = await gw.sync.sync_now()
        held = journal(gw.agent)
        assert state.entries == held, "the cloud holds the journal byte for byte"
        assert sent == -(-len(held) // 25) and all(last - first < 25 for first, last, _ in state.batches)
        assert acknowledged_seq(gw.agent.reader) == len(held)
        last_sync = gw.agent.reader.execute("SELECT last_sync_at FROM sync_state").fetchone()[0]
        assert last_sync == gw.clock.now.isoformat()
        assert await gw.sync.sync_now() == 0, "nothing new: nothing sent"


async def test_a_lost_ack_is_resent_and_answered_as_already_held(tmp_path: Path) -> None:
    state = PeerState(document=document(0, []))
    enrolled_key(tmp_path, state)
    async with serving(state) as url, gateway(tmp_path, url) as gw:
        for _ in range(5):
            await gw.read()
        state.lose_next_ack = True  # stored by the cloud, the answer lost on the way back
        with pytest.raises(CloudUnavailable):
            await gw.sync.sync_now()
        assert acknowledged_seq(gw.agent.reader) == 0
        await gw.sync.sync_now()
        assert [status for *_, status in state.batches] == ["accepted", "duplicate"]
        await gw.read()
        state.lose_next_ack = True
        with pytest.raises(CloudUnavailable):
            await gw.sync.sync_now()
        await gw.read()
        await gw.sync.sync_now()  # overlaps what the cloud stored: only the new entries are kept
        assert state.entries == journal(gw.agent)
        assert acknowledged_seq(gw.agent.reader) == len(state.entries)


async def test_a_gap_resumes_from_the_cloud_expected_seq(tmp_path: Path) -> None:
    state = PeerState(document=document(0, []))
    enrolled_key(tmp_path, state)
    async with serving(state) as url, gateway(tmp_path, url) as gw:
        for _ in range(6):
            await gw.read()
        await gw.sync.sync_now()
        state.forget_after(4)  # the cloud restored a backup taken at seq 4
        for _ in range(2):
            await gw.read()
        await gw.sync.sync_now()
        statuses = [status for *_, status in state.batches]
        assert statuses[-2:] == ["gap", "accepted"]
        assert state.batches[-1][0] == 5, "resent from the cloud's expected seq"
        assert state.entries == journal(gw.agent)


async def test_a_broken_chain_raises_one_alarm_and_backs_off(tmp_path: Path) -> None:
    state = PeerState(document=document(0, []))
    enrolled_key(tmp_path, state)
    async with serving(state) as url, gateway(tmp_path, url) as gw:
        for _ in range(3):
            await gw.read()
        await gw.sync.sync_now()
        # The cloud holds a different entry 3 than ours (someone altered one side).
        forged = bytearray(state.entries[2])
        position = forged.index(b'"hash":"') + 8
        forged[position : position + 1] = b"0" if forged[position : position + 1] != b"0" else b"1"
        state.entries[2] = bytes(forged)
        state.forget_after(3)
        await gw.read()
        for _ in range(2):
            with pytest.raises(BrokenChainRefused):
                await gw.sync.sync_now()
        await gw.read()
        bodies = [decode_entry(entry).body for entry in journal(gw.agent)]
        alarms = [b for b in bodies if isinstance(b, Alarm) and b.kind is AlarmKind.SYNC_REFUSED]
        assert len(alarms) == 1 and "broken chain" in alarms[0].detail and alarms[0].meter_id is None
        assert acknowledged_seq(gw.agent.reader) == 3

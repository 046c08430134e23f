"""What comes back with an ack: balances (applied once each) and config versions (pulled, applied).

The cached balance follows ``cloud balance − own charges after posted_through_seq``; a config
document is checked, applied in one transaction with its ``config_applied`` entry, switches the
agent's meters over without losing their state, and is what the agent runs after a restart.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from edge_agent.sync.store import applied_config_version, stored_document
from shared.journal import Alarm, AlarmKind, Charge, ConfigApplied, CreditApplied, Pocket, decode_entry
from shared.sync import PocketBalance
from shared.sync.gateway_api import config_digest
from tests.integration.sync_edge.helpers import cloud_meter, document, enrolled_key, gateway
from tests.integration.sync_edge.peer import PeerState, serving
from tests.integration.sync_edge.test_upload import journal

pytestmark = pytest.mark.anyio


def bodies(agent: object) -> list[object]:
    return [decode_entry(entry).body for entry in journal(agent)]


async def test_balances_are_applied_once_and_follow_the_formula(tmp_path: Path) -> None:
    state = PeerState(document=document(0, []))
    enrolled_key(tmp_path, state)
    async with serving(state) as url, gateway(tmp_path, url) as gw:
        for _ in range(4):
            await gw.read()
        await gw.sync.sync_now()
        posted = state.head.seq
        state.balances = [PocketBalance(wallet_id="w1", pocket=Pocket.ELECTRICITY, balance_cents=10_000,
                                        posted_through_seq=posted)]  # fmt: skip
        for _ in range(3):
            await gw.read()
        await gw.sync.sync_now()
        await gw.read()
        await gw.sync.sync_now()  # same terms again: nothing new to apply
        entries = bodies(gw.agent)
        credits = [b for b in entries if isinstance(b, CreditApplied)]
        assert len(credits) == 1 and credits[0].cloud_balance_cents == 10_000
        after = [decode_entry(e) for e in journal(gw.agent)]
        unposted = sum(e.body.amount_cents for e in after if isinstance(e.body, Charge) and e.seq > posted)
        assert unposted > 0
        assert gw.agent.billing.balance_of(gw.meter("m1")) == 10_000 - unposted
        # An older report (a late push) never steps the balance back.
        older = PocketBalance(
            wallet_id="w1", pocket=Pocket.ELECTRICITY, balance_cents=1, posted_through_seq=1
        )
        assert not await gw.sync.balances.apply(older)


async def test_a_cloud_that_only_posted_our_charges_adds_nothing_to_the_journal(tmp_path: Path) -> None:
    # Every ack names a newer posted_through_seq; applying each would journal a credit_applied,
    # upload it, get a newer seq back, and so on for ever.
    state = PeerState(document=document(0, []), credited={("w1", "electricity"): 10_000, ("w1", "water"): 0})
    enrolled_key(tmp_path, state)
    async with serving(state) as url, gateway(tmp_path, url) as gw:
        for _ in range(5):
            await gw.read()
            await gw.sync.sync_now()
        for _ in range(3):
            assert await gw.sync.sync_now() == 0, "nothing new to send: the journal is quiet"
        credits = [b for b in bodies(gw.agent) if isinstance(b, CreditApplied)]
        assert [(c.pocket, c.cloud_balance_cents) for c in credits] == [
            (Pocket.ELECTRICITY, 10_000),
            (Pocket.WATER, 0),
        ]
        charged = sum(b.amount_cents for b in bodies(gw.agent) if isinstance(b, Charge))
        assert gw.agent.billing.balance_of(gw.meter("m1")) == 10_000 - charged
        state.credited[("w1", "electricity")] += 5_000  # a top-up: the base moves, so it is applied
        await gw.read()
        await gw.sync.sync_now()
        charged = sum(b.amount_cents for b in bodies(gw.agent) if isinstance(b, Charge))
        assert gw.agent.billing.balance_of(gw.meter("m1")) == 15_000 - charged
        assert len([b for b in bodies(gw.agent) if isinstance(b, CreditApplied)]) == 3


async def test_a_new_config_version_is_pulled_checked_and_applied_in_place(tmp_path: Path) -> None:
    state = PeerState(document=document(0, []))
    enrolled_key(tmp_path, state)
    async with serving(state) as url, gateway(tmp_path, url) as gw:
        for _ in range(3):
            await gw.read("m1")
        state_m1 = gw.agent.billing.states["m1"]
        # Version 2: m1 stays (its bus and address kept on site), m2 is new, m3 is on a bus this
        # gateway does not have.
        meters = [
            msgspec.structs.replace(cloud_meter("m1"), bus=None, address=None),
            cloud_meter("m2", address=2),
            msgspec.structs.replace(cloud_meter("m3"), bus="far"),
        ]
        state.document = document(2, meters)
        await gw.sync.sync_now()
        assert state.config_pulls == 1
        applied = [b for b in bodies(gw.agent) if isinstance(b, ConfigApplied)]
        assert applied == [ConfigApplied(version=2, digest=config_digest(state.document))]
        assert applied_config_version(gw.agent.reader) == 2
        assert stored_document(gw.agent.reader) == state.document
        assert sorted(gw.agent.billing.meters) == ["m1", "m2"]
        assert gw.agent.billing.states["m1"] == state_m1, "a meter that stays keeps its billing state"
        assert [(m.id, m.bus, m.address) for m in gw.agent.coordinators["bus"].meters] == [
            ("m1", "bus", 1),
            ("m2", "bus", 2),
        ]
        await gw.read("m2")  # the new meter is billed
        # Version 3 removes m1; an ack naming version 3 again pulls nothing more.
        state.document = document(3, [cloud_meter("m2", address=2)])
        await gw.read("m2")
        await gw.sync.sync_now()
        await gw.read("m2")
        await gw.sync.sync_now()
        assert state.config_pulls == 2 and sorted(gw.agent.billing.meters) == ["m2"]
    # A restart runs on the document applied last, not on edge.toml's meters.
    async with serving(state) as url, gateway(tmp_path, url) as gw:
        assert sorted(gw.agent.billing.meters) == ["m2"]
        assert [m.id for m in gw.agent.config.meters] == ["m2"]


async def test_a_document_that_fails_its_checks_is_not_applied(tmp_path: Path) -> None:
    state = PeerState(document=document(0, []))
    enrolled_key(tmp_path, state)
    async with serving(state) as url, gateway(tmp_path, url) as gw:
        await gw.read()
        state.document = document(4, [cloud_meter("m1", profile="no-such-meter")])
        await gw.sync.sync_now()
        await gw.read()
        await gw.sync.sync_now()
        state.document = document(5, [cloud_meter("m1")], tariffs={"electricity": ["[tariff]\nnot = 1"]})
        await gw.read()
        await gw.sync.sync_now()
        alarms = [b for b in bodies(gw.agent) if isinstance(b, Alarm) and b.kind is AlarmKind.CONFIG_REFUSED]
        assert len(alarms) == 2, "one alarm per refused version, not one per sync"
        assert "meters[0].profile" in alarms[0].detail and "no-such-meter" in alarms[0].detail
        assert "tariffs.electricity" in alarms[1].detail
        assert applied_config_version(gw.agent.reader) == 0
        assert sorted(gw.agent.billing.meters) == ["m1"]


async def test_a_new_gateway_with_an_empty_journal_pulls_its_first_config(tmp_path: Path) -> None:
    # No meters yet, so no entries, so no ack to name a version: the first sync pulls it anyway.
    state = PeerState(document=document(1, [cloud_meter("m1")]))
    enrolled_key(tmp_path, state)
    async with serving(state) as url, gateway(tmp_path, url, meters=[]) as gw:
        assert gw.agent.billing.meters == {}
        await gw.sync.sync_now()
        assert sorted(gw.agent.billing.meters) == ["m1"]
        await gw.sync.sync_now()
        assert state.config_pulls == 1

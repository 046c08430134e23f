"""The cloud's verdict on a batch: accepted, duplicate, gap or broken chain, never half stored."""

from __future__ import annotations

import msgspec
import pytest

from shared.journal import GENESIS, Alarm, AlarmKind, ChainHead, Pocket, encode_entry, next_entry
from shared.sync import AckStatus, PocketBalance, SyncError, assess_batch, overlap_seqs
from tests.unit.journal.samples import T0, sample_chain

CHAIN = sample_chain()
ENCODED = [encode_entry(e) for e in CHAIN]
HASHES = {e.seq: e.hash for e in CHAIN}


def stored_through(seq: int) -> ChainHead:
    return GENESIS if seq == 0 else CHAIN[seq - 1].head


def assess(batch: list[bytes], stored_seq: int):  # type: ignore[no-untyped-def]
    stored = stored_through(stored_seq)
    held = {seq: HASHES[seq] for seq in overlap_seqs(batch, stored=stored)}
    return assess_batch(batch, stored=stored, stored_hashes=held)


def test_the_first_batch_of_a_gateway_is_accepted_whole() -> None:
    verdict = assess(ENCODED[:3], stored_seq=0)
    assert verdict.status is AckStatus.ACCEPTED
    assert verdict.to_store == ENCODED[:3]
    assert verdict.head == CHAIN[2].head


def test_a_batch_following_the_stored_head_is_accepted() -> None:
    verdict = assess(ENCODED[3:], stored_seq=3)
    assert verdict.status is AckStatus.ACCEPTED
    assert verdict.to_store == ENCODED[3:]
    assert verdict.head == CHAIN[-1].head


def test_a_resent_batch_whose_ack_was_lost_is_a_duplicate() -> None:
    verdict = assess(ENCODED[2:5], stored_seq=8)
    assert verdict.status is AckStatus.DUPLICATE
    assert verdict.to_store == []
    assert verdict.head == CHAIN[-1].head


def test_a_batch_overlapping_stored_entries_stores_only_the_new_ones() -> None:
    assert list(overlap_seqs(ENCODED[2:6], stored=stored_through(4))) == [3, 4]
    verdict = assess(ENCODED[2:6], stored_seq=4)
    assert verdict.status is AckStatus.ACCEPTED
    assert verdict.to_store == ENCODED[4:6]
    assert verdict.head == CHAIN[5].head


def test_a_batch_starting_beyond_the_stored_head_is_a_gap_and_asks_for_the_missing_seq() -> None:
    verdict = assess(ENCODED[5:], stored_seq=3)
    assert verdict.status is AckStatus.GAP
    assert verdict.to_store == []
    ack = verdict.ack(balances=[], config_version=7)
    assert (ack.acknowledged_seq, ack.expected_seq) == (3, 4)
    assert "batch starts at seq 6; the cloud holds up to 3" in (ack.detail or "")


def test_a_seq_missing_inside_a_batch_is_a_gap_and_nothing_is_stored() -> None:
    verdict = assess([*ENCODED[:2], *ENCODED[3:]], stored_seq=0)
    assert verdict.status is AckStatus.GAP
    assert verdict.to_store == []
    assert verdict.head == GENESIS


def test_a_tampered_entry_breaks_the_chain_and_nothing_is_stored() -> None:
    forged = msgspec.structs.replace(
        CHAIN[4], body=Alarm(meter_id=None, kind=AlarmKind.LEAK, detail="forged")
    )
    verdict = assess([*ENCODED[3:4], encode_entry(forged), *ENCODED[5:]], stored_seq=3)
    assert verdict.status is AckStatus.BROKEN_CHAIN
    assert verdict.to_store == []
    assert "batch entry 1: entry 5 carries hash" in (verdict.detail or "")


def test_a_batch_that_rewrites_stored_history_breaks_the_chain() -> None:
    # A gateway restored from an old backup journals different facts under seqs already stored.
    other = next_entry(GENESIS, Alarm(meter_id=None, kind=AlarmKind.TAMPER, detail="lid"), recorded_at=T0)
    verdict = assess([encode_entry(other)], stored_seq=2)
    assert verdict.status is AckStatus.BROKEN_CHAIN
    assert f"the cloud holds {CHAIN[0].hash}" in (verdict.detail or "")


def test_a_batch_not_linked_to_the_stored_head_breaks_the_chain() -> None:
    stored = ChainHead(seq=3, hash="ee" * 32)
    verdict = assess_batch(ENCODED[3:], stored=stored, stored_hashes={})
    assert verdict.status is AckStatus.BROKEN_CHAIN
    assert f"entry 4 links to {CHAIN[2].hash} but the entry before it has hash {'ee' * 32}" in (
        verdict.detail or ""
    )


def test_an_unreadable_first_entry_breaks_the_chain() -> None:
    assert list(overlap_seqs([b"junk"], stored=stored_through(2))) == []
    verdict = assess([b"junk", *ENCODED[2:]], stored_seq=2)
    assert verdict.status is AckStatus.BROKEN_CHAIN
    assert (verdict.detail or "").startswith("batch entry 0: entry is not valid JSON")


def test_the_cloud_must_supply_the_hashes_a_batch_overlaps() -> None:
    with pytest.raises(SyncError, match="the stored hash of seq 3 is needed"):
        assess_batch(ENCODED[2:6], stored=stored_through(4), stored_hashes={})


def test_an_accepted_ack_carries_balances_and_config_and_no_expected_seq() -> None:
    balance = PocketBalance(
        wallet_id="wallet-12", pocket=Pocket.SHARED, balance_cents=100, posted_through_seq=2
    )
    ack = assess(ENCODED[:2], stored_seq=0).ack(balances=[balance], config_version=42)
    assert (ack.status, ack.acknowledged_seq, ack.expected_seq, ack.detail) == (
        AckStatus.ACCEPTED,
        2,
        None,
        None,
    )
    assert (ack.balances, ack.config_version) == ([balance], 42)

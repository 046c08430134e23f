"""verify_chain names the first bad entry and why, on a gateway's journal or a cloud batch."""

from __future__ import annotations

import json
from collections.abc import Iterator

import msgspec

from shared.journal import (
    Alarm,
    AlarmKind,
    ChainHead,
    ProblemKind,
    encode_entry,
    next_entry,
    verify_chain,
)
from tests.unit.journal.samples import T0, sample_chain


def encoded_chain() -> list[bytes]:
    return [encode_entry(e) for e in sample_chain()]


def test_a_sound_journal_verifies_and_reports_its_head() -> None:
    chain = sample_chain()
    verdict = verify_chain(encoded_chain())
    assert verdict.ok
    assert verdict.problem is None
    assert verdict.entries_verified == len(chain)
    assert verdict.head == chain[-1].head


def test_an_empty_run_is_sound_and_ends_where_it_was_expected_to_start() -> None:
    verdict = verify_chain([], expected_first_seq=9, expected_prev_hash="cd" * 32)
    assert verdict.ok
    assert verdict.head == ChainHead(seq=8, hash="cd" * 32)


def test_a_batch_verifies_against_the_last_stored_hash() -> None:
    encoded = encoded_chain()
    first = verify_chain(encoded[:3])
    second = verify_chain(
        encoded[3:], expected_first_seq=first.head.seq + 1, expected_prev_hash=first.head.hash
    )
    assert second.ok
    assert second.head == sample_chain()[-1].head


def test_a_batch_that_does_not_follow_the_stored_head_is_refused() -> None:
    encoded = encoded_chain()
    verdict = verify_chain(encoded[3:], expected_first_seq=4, expected_prev_hash="00" * 32)
    assert verdict.problem is not None
    assert (verdict.problem.index, verdict.problem.seq) == (0, 4)
    assert verdict.problem.kind is ProblemKind.PREV_HASH_MISMATCH
    assert verdict.head == ChainHead(seq=3, hash="00" * 32)


def test_a_missing_entry_is_a_gap_naming_what_is_missing() -> None:
    encoded = encoded_chain()
    verdict = verify_chain(encoded[:2] + encoded[4:])
    assert verdict.problem is not None
    assert verdict.problem.kind is ProblemKind.GAP
    assert (verdict.problem.index, verdict.problem.seq) == (2, 5)
    assert "expected seq 3, found 5: missing 3..4" in verdict.problem.detail
    assert verdict.entries_verified == 2
    assert verdict.head == sample_chain()[1].head


def test_a_repeated_entry_is_out_of_order() -> None:
    encoded = encoded_chain()
    verdict = verify_chain([*encoded[:3], encoded[2], *encoded[3:]])
    assert verdict.problem is not None
    assert verdict.problem.kind is ProblemKind.OUT_OF_ORDER
    assert (verdict.problem.index, verdict.problem.seq) == (3, 3)


def test_an_entry_altered_and_re_encoded_has_a_hash_mismatch() -> None:
    chain = sample_chain()
    forged = msgspec.structs.replace(
        chain[4], body=Alarm(meter_id=None, kind=AlarmKind.COMMUNICATION_RESTORED, detail="all well")
    )
    encoded = encoded_chain()
    encoded[4] = encode_entry(forged)
    verdict = verify_chain(encoded)
    assert verdict.problem is not None
    assert verdict.problem.kind is ProblemKind.HASH_MISMATCH
    assert (verdict.problem.index, verdict.problem.seq) == (4, 5)
    assert f"entry 5 carries hash {chain[4].hash} but its content hashes to" in verdict.problem.detail


def test_an_entry_from_another_chain_does_not_link() -> None:
    encoded = encoded_chain()
    stranger = next_entry(ChainHead(seq=2, hash="11" * 32), sample_chain()[2].body, recorded_at=T0)
    verdict = verify_chain([*encoded[:2], encode_entry(stranger)])
    assert verdict.problem is not None
    assert verdict.problem.kind is ProblemKind.PREV_HASH_MISMATCH
    assert "links to 1111" in verdict.problem.detail


def test_garbage_is_undecodable_and_located_by_position() -> None:
    encoded = encoded_chain()
    verdict = verify_chain([encoded[0], b"\x00not json", *encoded[1:]])
    assert verdict.problem is not None
    assert verdict.problem.kind is ProblemKind.UNDECODABLE
    assert (verdict.problem.index, verdict.problem.seq) == (1, None)
    assert verdict.entries_verified == 1


def test_losing_the_last_entries_is_found_only_against_the_expected_end() -> None:
    encoded = encoded_chain()
    expected_last = sample_chain()[-1].head
    assert verify_chain(encoded[:-2]).ok
    verdict = verify_chain(encoded[:-2], expected_last=expected_last)
    assert verdict.problem is not None
    assert verdict.problem.kind is ProblemKind.UNEXPECTED_END
    assert f"ends at seq 6 with hash {sample_chain()[5].hash}, expected seq 8" in verdict.problem.detail
    assert verify_chain(encoded, expected_last=expected_last).ok


def test_verification_streams_and_stops_at_the_first_bad_entry() -> None:
    consumed: list[int] = []

    def entries() -> Iterator[bytes]:
        for index, data in enumerate(encoded_chain()):
            consumed.append(index)
            yield b"junk" if index == 2 else data

    assert not verify_chain(entries()).ok
    assert consumed == [0, 1, 2]


def test_the_verdict_renders_as_json_for_the_command_line() -> None:
    encoded = encoded_chain()
    rendered = json.loads(msgspec.json.encode(verify_chain(encoded[:2] + encoded[3:])))
    assert rendered["ok"] is False
    assert rendered["head"] == {"seq": 2, "hash": sample_chain()[1].hash}
    assert rendered["problem"]["kind"] == "gap"
    assert rendered["problem"]["seq"] == 4

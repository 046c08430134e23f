"""Batches, acks and push messages survive the wire, and bad ones are refused with the field named."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from shared.journal import MAX_ENTRY_BYTES, Pocket, RelayAction, RelayReason, encode_entry, verify_chain
from shared.sync import (
    MAX_BATCH_BYTES,
    MAX_BATCH_ENTRIES,
    AckStatus,
    BatchAck,
    ConfigVersionNotice,
    CreditChanged,
    PocketBalance,
    RelayCommandPush,
    SyncError,
    decode_ack,
    decode_batch,
    decode_push,
    encode_message,
    journal_batch,
)
from tests.unit.journal.samples import sample_chain

BALANCE = PocketBalance(
    wallet_id="wallet-12", pocket=Pocket.ELECTRICITY, balance_cents=2_000, posted_through_seq=8
)


def test_a_batch_carries_entries_byte_for_byte_so_the_cloud_can_verify_them() -> None:
    encoded = [encode_entry(e) for e in sample_chain()]
    received = decode_batch(encode_message(journal_batch("gw-estate-01", encoded)))
    assert received.gateway_id == "gw-estate-01"
    assert received.encoded_entries() == encoded
    assert verify_chain(received.encoded_entries()).ok


def test_entries_appear_in_the_batch_as_json_objects_not_strings() -> None:
    wire = json.loads(encode_message(journal_batch("gw", [encode_entry(sample_chain()[0])])))
    assert wire["entries"][0]["seq"] == 1


@pytest.mark.parametrize("count", [0, MAX_BATCH_ENTRIES + 1])
def test_a_batch_must_hold_one_to_the_maximum_entries(count: int) -> None:
    with pytest.raises(SyncError, match=f"expected 1 to {MAX_BATCH_ENTRIES} entries, got {count}"):
        journal_batch("gw", [encode_entry(sample_chain()[0])] * count)


def test_an_oversized_entry_cannot_join_a_batch() -> None:
    with pytest.raises(SyncError, match=f"entry 1 is {MAX_ENTRY_BYTES + 1} bytes, at most {MAX_ENTRY_BYTES}"):
        journal_batch("gw", [encode_entry(sample_chain()[0]), b"{" * (MAX_ENTRY_BYTES + 1)])


def test_a_decoded_batch_is_bounded_too() -> None:
    entry = encode_entry(sample_chain()[0])
    body = b'{"gateway_id":"gw","entries":[' + b",".join([entry] * (MAX_BATCH_ENTRIES + 1)) + b"]}"
    with pytest.raises(SyncError, match=rf"journal batch: Expected `array` of length <= {MAX_BATCH_ENTRIES}"):
        decode_batch(body)
    with pytest.raises(SyncError, match=f"at most {MAX_BATCH_BYTES} are allowed"):
        decode_batch(b" " * (MAX_BATCH_BYTES + 1))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"gateway_id":"gw","entries":[{}],"since":1}', "unknown field `since`"),
        (b'{"entries":[{}]}', "missing required field `gateway_id`"),
        (b'{"gateway_id":"gw","entries":', "journal batch is not valid JSON"),
        (b'{"gateway_id":"g\xffw","entries":[{}]}', "journal batch is not valid UTF-8 text"),
    ],
)
def test_malformed_batches_are_refused_with_the_field_named(data: bytes, message: str) -> None:
    with pytest.raises(SyncError, match=message):
        decode_batch(data)


@pytest.mark.parametrize(
    "ack",
    [
        BatchAck(
            status=AckStatus.ACCEPTED,
            acknowledged_seq=8,
            expected_seq=None,
            detail=None,
            balances=[BALANCE],
            config_version=3,
        ),
        BatchAck(
            status=AckStatus.DUPLICATE,
            acknowledged_seq=8,
            expected_seq=None,
            detail=None,
            balances=[],
            config_version=3,
        ),
        BatchAck(
            status=AckStatus.GAP,
            acknowledged_seq=8,
            expected_seq=9,
            detail="expected seq 9, found 12",
            balances=[BALANCE],
            config_version=3,
        ),
        BatchAck(
            status=AckStatus.BROKEN_CHAIN,
            acknowledged_seq=0,
            expected_seq=1,
            detail="hash mismatch",
            balances=[],
            config_version=0,
        ),
    ],
    ids=lambda a: a.status.value,
)
def test_every_ack_status_round_trips(ack: BatchAck) -> None:
    assert decode_ack(encode_message(ack)) == ack


def test_ack_wire_form_uses_the_documented_names() -> None:
    ack = BatchAck(
        status=AckStatus.GAP,
        acknowledged_seq=8,
        expected_seq=9,
        detail="x",
        balances=[BALANCE],
        config_version=3,
    )
    assert json.loads(encode_message(ack)) == {
        "status": "gap",
        "acknowledged_seq": 8,
        "expected_seq": 9,
        "detail": "x",
        "balances": [
            {
                "wallet_id": "wallet-12",
                "pocket": "electricity",
                "balance_cents": 2000,
                "posted_through_seq": 8,
            }
        ],
        "config_version": 3,
    }


@pytest.mark.parametrize(
    ("status", "expected_seq", "message"),
    [
        (AckStatus.GAP, None, "expected_seq must be acknowledged_seq \\+ 1 = 9, got None"),
        (AckStatus.BROKEN_CHAIN, 12, "expected_seq must be acknowledged_seq \\+ 1 = 9, got 12"),
        (AckStatus.ACCEPTED, 9, "expected_seq must be null, got 9"),
    ],
)
def test_an_ack_whose_seqs_contradict_its_status_is_refused(
    status: AckStatus, expected_seq: int | None, message: str
) -> None:
    with pytest.raises(SyncError, match=message):
        BatchAck(
            status=status,
            acknowledged_seq=8,
            expected_seq=expected_seq,
            detail=None,
            balances=[],
            config_version=1,
        )
    wire = json.dumps(
        {
            "status": status.value,
            "acknowledged_seq": 8,
            "expected_seq": expected_seq,
            "detail": None,
            "balances": [],
            "config_version": 1,
        }
    )
    with pytest.raises(SyncError, match=f"batch ack: .*{message}"):
        decode_ack(wire.encode())


def test_an_ack_with_an_unknown_pocket_names_it() -> None:
    wire = b'{"status":"accepted","acknowledged_seq":1,"expected_seq":null,"detail":null,"balances":[{"wallet_id":"w","pocket":"gas","balance_cents":1,"posted_through_seq":1}],"config_version":1}'
    with pytest.raises(SyncError, match=r"Invalid enum value 'gas' - at `\$.balances\[0\].pocket`"):
        decode_ack(wire)


@pytest.mark.parametrize(
    ("message", "tag"),
    [
        (CreditChanged(balance=BALANCE), "credit_changed"),
        (
            RelayCommandPush(
                command_id="op-7",
                meter_id="m-1",
                action=RelayAction.CLOSE,
                reason=RelayReason.OPERATOR,
                issued_at=datetime(2026, 11, 22, 3, tzinfo=UTC),
            ),
            "relay_command",
        ),
        (ConfigVersionNotice(config_version=43), "config_version"),
    ],
    ids=lambda v: v if isinstance(v, str) else type(v).__name__,
)
def test_push_messages_round_trip_and_are_told_apart_by_type(message: object, tag: str) -> None:
    data = encode_message(message)  # type: ignore[arg-type]
    assert json.loads(data)["type"] == tag
    assert decode_push(data) == message


def test_credit_changed_carries_the_same_shape_as_an_ack_balance() -> None:
    pushed = json.loads(encode_message(CreditChanged(balance=BALANCE)))["balance"]
    acked = json.loads(
        encode_message(
            BatchAck(
                status=AckStatus.ACCEPTED,
                acknowledged_seq=8,
                expected_seq=None,
                detail=None,
                balances=[BALANCE],
                config_version=1,
            )
        )
    )
    assert pushed == acked["balances"][0]


def test_an_unknown_push_message_is_refused() -> None:
    with pytest.raises(SyncError, match=r"push message: Invalid value 'top_up' - at `\$.type`"):
        decode_push(b'{"type":"top_up","cents":100}')

"""Building, encoding and decoding entries: what the gateway writes is what the cloud reads."""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import msgspec
import pytest

from shared.journal import (
    GENESIS,
    MAX_ENTRY_BYTES,
    Alarm,
    AlarmKind,
    ChainHead,
    Charge,
    JournalError,
    Pocket,
    Reading,
    ReadingSource,
    content_hash,
    decode_entry,
    encode_entry,
    next_entry,
)
from shared.quantities import Measurement, Utility
from tests.unit.journal.samples import T0, sample_bodies, sample_chain


def test_first_entry_has_seq_1_and_links_to_32_zero_bytes() -> None:
    entry = next_entry(GENESIS, sample_bodies()[0], recorded_at=T0)
    assert entry.seq == 1
    assert bytes.fromhex(entry.prev_hash) == bytes(32)


def test_each_entry_links_to_the_one_before() -> None:
    chain = sample_chain()
    assert [e.seq for e in chain] == list(range(1, len(chain) + 1))
    for before, after in itertools.pairwise(chain):
        assert after.prev_hash == before.hash
    assert len({e.hash for e in chain}) == len(chain)


def test_hash_covers_prev_hash_and_the_entry_without_its_hashes() -> None:
    entry = sample_chain()[2]
    content = b'{"body":{"action":"open","command_id":"cmd-0001","meter_id":"EST-01/unit-12/elec",'
    content += b'"reason":"credit_exhausted","type":"relay_command"},"recorded_at":"2026-11-22T03:00:02.000000Z","seq":3}'
    assert entry.hash == hashlib.sha256(bytes.fromhex(entry.prev_hash) + content).hexdigest()
    assert content_hash(entry) == entry.hash


@pytest.mark.parametrize("body", sample_bodies(), ids=lambda b: type(b).__name__)
def test_every_body_type_round_trips_exactly(body: object) -> None:
    entry = next_entry(ChainHead(seq=41, hash="ab" * 32), body, recorded_at=T0)  # type: ignore[arg-type]
    encoded = encode_entry(entry)
    assert decode_entry(encoded) == entry
    assert encode_entry(decode_entry(encoded)) == encoded
    assert decode_entry(encoded).body == body


def test_times_are_kept_as_the_same_instant_in_utc() -> None:
    entry = next_entry(GENESIS, sample_bodies()[0], recorded_at=T0)
    assert entry.recorded_at == T0
    assert entry.recorded_at.utcoffset() == timedelta(0)


def test_the_same_fact_hashes_the_same_however_its_decimals_are_written() -> None:
    reading = sample_bodies()[0]
    assert isinstance(reading, Reading)
    respelled = msgspec.structs.replace(reading, billing_register=Decimal("1.23456E+6"))
    assert (
        next_entry(GENESIS, reading, recorded_at=T0).hash
        == next_entry(GENESIS, respelled, recorded_at=T0).hash
    )


@pytest.mark.parametrize(
    ("alter", "message"),
    [
        (lambda b: b.replace(b'"seq":3}', b'"seq": 3}'), "not in canonical form"),
        (lambda b: b.replace(b'"seq":3}', b'"seq":3,"extra":1}'), "unknown field `extra`"),
        (lambda b: b.replace(b',"reason":"credit_exhausted"', b""), "missing required field `reason`"),
        (lambda b: b.replace(b'"open"', b'"toggle"'), r"Invalid enum value 'toggle' - at `\$.body.action`"),
        (
            lambda b: b.replace(b"2026-11-22T03:00:02.000000Z", b"2026-11-22T05:00:02.000000+02:00"),
            "canonical",
        ),
        (lambda b: b.replace(b"2026-11-22T03:00:02.000000Z", b"2026-11-22T03:00:02.000000"), "timezone"),
        (lambda b: b.replace(b'"relay_command"', b'"relay_comand"'), r"\$.body.type"),
        (lambda b: b[:-1], "not valid JSON"),
        (lambda b: b.replace(b'"open"', b'"\xe2pen"'), "entry is not valid UTF-8 text"),
    ],
)
def test_decoding_refuses_anything_but_canonical_valid_entries(alter, message: str) -> None:  # type: ignore[no-untyped-def]
    encoded = encode_entry(sample_chain()[2])
    with pytest.raises(JournalError, match=message):
        decode_entry(alter(encoded))


def test_a_decimal_written_differently_is_not_canonical() -> None:
    encoded = encode_entry(sample_chain()[1]).replace(b'"quantity":"20.5"', b'"quantity":"20.50"')
    with pytest.raises(JournalError, match=r"entry 2 is not in canonical form: .* at byte \d+"):
        decode_entry(encoded)


def test_a_float_in_a_body_is_refused_before_it_enters_the_chain() -> None:
    reading = Reading(
        meter_id="m-1",
        read_at=T0,
        source=ReadingSource.LORAWAN,
        measurements={Measurement.VOLUME_L: 0.1},  # type: ignore[dict-item]
        billing_register=None,
    )
    with pytest.raises(JournalError, match=r"body\.measurements\.volume_l: floats are not allowed"):
        next_entry(GENESIS, reading, recorded_at=T0)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (Alarm(meter_id="", kind=AlarmKind.LEAK, detail="x"), r"length >= 1 - at `\$.body.meter_id`"),
        (Alarm(meter_id=None, kind="flood", detail="x"), r"Invalid enum value 'flood'"),  # type: ignore[arg-type]
        (
            Alarm(meter_id=None, kind=AlarmKind.LEAK, detail="x" * 1001),
            r"length <= 1000 - at `\$.body.detail`",
        ),
        (
            Reading(
                meter_id="m",
                read_at=datetime(2026, 1, 1),
                source=ReadingSource.NBIOT,
                measurements={},
                billing_register=None,
            ),
            "body.read_at: expected a timezone-aware datetime",
        ),
    ],
)
def test_invalid_bodies_are_refused_with_the_field_named(body: object, message: str) -> None:
    with pytest.raises(JournalError, match=message):
        next_entry(GENESIS, body, recorded_at=T0)  # type: ignore[arg-type]


def test_a_chain_head_with_a_malformed_hash_is_refused() -> None:
    with pytest.raises(JournalError, match="prev_hash: expected 64 lowercase hex digits, got 'ABC'"):
        next_entry(ChainHead(seq=1, hash="ABC"), sample_bodies()[2], recorded_at=T0)


def test_naive_recorded_at_is_refused() -> None:
    with pytest.raises(JournalError, match="recorded_at: expected a timezone-aware datetime"):
        next_entry(GENESIS, sample_bodies()[2], recorded_at=datetime(2026, 1, 1))


def _charge(**changes: object) -> Charge:
    charge = sample_bodies()[1]
    assert isinstance(charge, Charge)
    fields = {f: getattr(charge, f) for f in charge.__struct_fields__} | changes
    return Charge(**fields)


def test_a_charge_interval_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(JournalError, match=r"interval_end 2026-11-22T02:00:00.* is before interval_start"):
        _charge(interval_end=datetime(2026, 11, 22, 2, tzinfo=UTC))


def test_a_negative_charge_quantity_is_refused() -> None:
    with pytest.raises(JournalError, match="quantity must be >= 0 base units, got -1"):
        _charge(quantity=Decimal(-1))


def test_a_charge_month_must_be_a_calendar_month() -> None:
    with pytest.raises(JournalError, match=r"\$.body.month"):
        next_entry(GENESIS, _charge(month="2026-13"), recorded_at=T0)


def test_a_charge_pocket_may_be_shared_or_its_utility() -> None:
    assert Pocket.for_utility(Utility.HOT_WATER) is Pocket.HOT_WATER
    entry = next_entry(GENESIS, _charge(pocket=Pocket.SHARED), recorded_at=T0)
    assert decode_entry(encode_entry(entry)).body == _charge(pocket=Pocket.SHARED)


def test_an_oversized_entry_is_refused() -> None:
    measurements = {m: Decimal("1" + "0" * 200) for m in Measurement}
    body = Reading(
        meter_id="m",
        read_at=T0,
        source=ReadingSource.MODBUS,
        measurements=measurements,
        billing_register=None,
    )
    with pytest.raises(JournalError, match=f"at most {MAX_ENTRY_BYTES} are allowed"):
        next_entry(GENESIS, body, recorded_at=T0)

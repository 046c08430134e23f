"""Properties of the journal: exact round trips, tamper evidence, and the cached balance rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from shared.journal import (
    GENESIS,
    Alarm,
    AlarmKind,
    Body,
    ChainHead,
    Charge,
    ConfigApplied,
    CreditApplied,
    Entry,
    MeterReplaced,
    Pocket,
    Reading,
    ReadingSource,
    RelayAction,
    RelayCommand,
    RelayReason,
    RelayStateConfirmed,
    decode_entry,
    encode_entry,
    next_entry,
    verify_chain,
)
from shared.quantities import Measurement, Utility
from shared.sync import (
    AckStatus,
    BatchAck,
    ConfigVersionNotice,
    CreditChanged,
    PocketBalance,
    RelayCommandPush,
    cached_balance_cents,
    decode_ack,
    decode_batch,
    decode_push,
    encode_message,
    journal_batch,
)

# Text as people and meters produce it: any Unicode scalar value, control characters included.
texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=60)
identifiers = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=24)
zones = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-9, minutes=-30))])
instants = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2200, 1, 1), timezones=zones)
# Decimals with many digits and every spelling (exponents, trailing zeros, negative zero).
decimals = st.one_of(
    st.decimals(min_value=-(10**12), max_value=10**12, allow_nan=False, allow_infinity=False),
    st.builds(
        lambda digits, exponent: Decimal(f"{digits}E{exponent}"),
        st.integers(-(10**20), 10**20),
        st.integers(-12, 6),
    ),
    st.sampled_from([Decimal("-0.000"), Decimal("0E+3"), Decimal("1.500"), Decimal("1E+3")]),
)
quantities = decimals.map(abs)
cents = st.integers(-(10**12), 10**12)
months = st.builds("{:04d}-{:02d}".format, st.integers(1990, 2200), st.integers(1, 12))
seqs = st.integers(1, 10**12)


@st.composite
def charges(draw: st.DrawFn) -> Charge:
    start = draw(instants)
    return Charge(
        meter_id=draw(identifiers),
        wallet_id=draw(identifiers),
        utility=draw(st.sampled_from(Utility)),
        pocket=draw(st.sampled_from(Pocket)),
        reading_seq=draw(st.none() | seqs),
        interval_start=start,
        interval_end=start + draw(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=2))),
        quantity=draw(quantities),
        band=draw(identifiers),
        tariff_version=draw(identifiers),
        amount_cents=draw(cents),
        month=draw(months),
        month_to_date_quantity_before=draw(quantities),
        carry_before=draw(decimals),
    )


bodies: st.SearchStrategy[Body] = st.one_of(
    st.builds(
        Reading,
        meter_id=identifiers,
        read_at=instants,
        source=st.sampled_from(ReadingSource),
        measurements=st.dictionaries(st.sampled_from(Measurement), decimals, max_size=6),
        billing_register=st.none() | quantities,
    ),
    charges(),
    st.builds(
        RelayCommand,
        meter_id=identifiers,
        command_id=identifiers,
        action=st.sampled_from(RelayAction),
        reason=st.sampled_from(RelayReason),
    ),
    st.builds(
        RelayStateConfirmed,
        meter_id=identifiers,
        command_id=st.none() | identifiers,
        closed=st.booleans(),
        observed_at=instants,
    ),
    st.builds(Alarm, meter_id=st.none() | identifiers, kind=st.sampled_from(AlarmKind), detail=texts),
    st.builds(
        CreditApplied,
        wallet_id=identifiers,
        pocket=st.sampled_from(Pocket),
        cloud_balance_cents=cents,
        posted_through_seq=st.integers(0, 10**12),
        cached_balance_cents=cents,
    ),
    st.builds(
        ConfigApplied,
        version=st.integers(0, 10**9),
        digest=st.binary(min_size=32, max_size=32).map(bytes.hex),
    ),
    st.builds(
        MeterReplaced,
        meter_id=identifiers,
        old_serial=identifiers,
        new_serial=identifiers,
        old_final_register=quantities,
        new_first_register=quantities,
        replaced_at=instants,
    ),
)
heads = st.builds(
    ChainHead, seq=st.integers(0, 10**12), hash=st.binary(min_size=32, max_size=32).map(bytes.hex)
)


def build_chain(journal_bodies: list[Body], start: datetime) -> list[Entry]:
    entries, head = [], GENESIS
    for offset, body in enumerate(journal_bodies):
        entry = next_entry(head, body, recorded_at=start + timedelta(milliseconds=offset))
        entries.append(entry)
        head = entry.head
    return entries


@given(head=heads, body=bodies, recorded_at=instants)
def test_any_entry_round_trips_exactly(head: ChainHead, body: Body, recorded_at: datetime) -> None:
    entry = next_entry(head, body, recorded_at=recorded_at)
    encoded = encode_entry(entry)
    decoded = decode_entry(encoded)
    assert decoded == entry
    assert decoded.body == body
    assert decoded.recorded_at == recorded_at
    assert encode_entry(decoded) == encoded
    assert (decoded.seq, decoded.prev_hash) == (head.seq + 1, head.hash)


@given(journal_bodies=st.lists(bodies, min_size=1, max_size=5), start=instants, data=st.data())
def test_any_flipped_byte_is_detected(
    journal_bodies: list[Body], start: datetime, data: st.DataObject
) -> None:
    encoded = [encode_entry(e) for e in build_chain(journal_bodies, start)]
    index = data.draw(st.integers(0, len(encoded) - 1), label="entry")
    position = data.draw(st.integers(0, len(encoded[index]) - 1), label="byte")
    flip = data.draw(st.integers(1, 255), label="xor")
    damaged = bytearray(encoded[index])
    damaged[position] ^= flip
    encoded[index] = bytes(damaged)
    verdict = verify_chain(encoded)
    assert not verdict.ok
    assert verdict.problem is not None
    assert verdict.problem.index == index


@given(journal_bodies=st.lists(bodies, min_size=2, max_size=5), start=instants, data=st.data())
def test_any_dropped_duplicated_or_reordered_entry_is_detected(
    journal_bodies: list[Body], start: datetime, data: st.DataObject
) -> None:
    chain = build_chain(journal_bodies, start)
    encoded = [encode_entry(e) for e in chain]
    i, j = data.draw(
        st.lists(st.integers(0, len(encoded) - 1), min_size=2, max_size=2, unique=True), label="i, j"
    )
    dropped = encoded[:i] + encoded[i + 1 :]
    duplicated = [*encoded[: i + 1], encoded[i], *encoded[i + 1 :]]
    reordered = list(encoded)
    reordered[i], reordered[j] = reordered[j], reordered[i]
    for tampered in (dropped, duplicated, reordered):
        # The stored journal head is known on the gateway; without it, losing the very last
        # entry leaves a sound (shorter) chain, which no chain can reveal by itself.
        assert not verify_chain(tampered, expected_last=chain[-1].head).ok
    if i < len(encoded) - 1:
        assert not verify_chain(dropped).ok


_WALLETS = ["w-1", "w-2"]
_POCKETS = [Pocket.ELECTRICITY, Pocket.WATER, Pocket.SHARED]
events = st.lists(
    st.tuples(
        st.sampled_from(["charge", "cloud"]),
        st.sampled_from(_WALLETS),
        st.sampled_from(_POCKETS),
        st.integers(-5_000, 5_000),
    ),
    max_size=30,
)


def charge_body(wallet: str, pocket: Pocket, amount: int) -> Charge:
    at = datetime(2026, 11, 22, tzinfo=UTC)
    return Charge(
        meter_id="m",
        wallet_id=wallet,
        utility=Utility.WATER,
        pocket=pocket,
        reading_seq=None,
        interval_start=at,
        interval_end=at,
        quantity=Decimal(1),
        band="flat",
        tariff_version="v1",
        amount_cents=abs(amount),
        month="2026-11",
        month_to_date_quantity_before=Decimal(0),
        carry_before=Decimal(0),
    )


@given(history=events, wallet=st.sampled_from(_WALLETS), pocket=st.sampled_from(_POCKETS), data=st.data())
def test_cached_balance_equals_the_balance_after_every_movement_and_charge(
    history: list[tuple[str, str, Pocket, int]], wallet: str, pocket: Pocket, data: st.DataObject
) -> None:
    journal_bodies = [charge_body(w, p, amount) for kind, w, p, amount in history if kind == "charge"]
    journal = build_chain(list(journal_bodies), datetime(2026, 11, 22, tzinfo=UTC))
    posted_through = data.draw(st.integers(0, len(journal)), label="posted_through_seq")

    # The model: walk everything that happened to this pocket, one movement at a time.
    true_balance = cloud_balance = 0
    seq = 0
    for kind, w, p, amount in history:
        seq += kind == "charge"
        if (w, p) != (wallet, pocket):
            continue
        if kind == "cloud":
            true_balance += amount
            cloud_balance += amount
        else:
            true_balance -= abs(amount)
            cloud_balance -= abs(amount) if seq <= posted_through else 0

    reported = PocketBalance(
        wallet_id=wallet, pocket=pocket, balance_cents=cloud_balance, posted_through_seq=posted_through
    )
    assert cached_balance_cents(reported, journal) == true_balance


pocket_balances = st.builds(
    PocketBalance,
    wallet_id=identifiers,
    pocket=st.sampled_from(Pocket),
    balance_cents=cents,
    posted_through_seq=st.integers(0, 10**12),
)


@st.composite
def acks(draw: st.DrawFn) -> BatchAck:
    status = draw(st.sampled_from(AckStatus))
    acknowledged = draw(st.integers(0, 10**12))
    refused = status in {AckStatus.GAP, AckStatus.BROKEN_CHAIN}
    return BatchAck(
        status=status,
        acknowledged_seq=acknowledged,
        expected_seq=acknowledged + 1 if refused else None,
        detail=draw(st.none() | texts),
        balances=draw(st.lists(pocket_balances, max_size=5)),
        config_version=draw(st.integers(0, 10**9)),
    )


push_messages = st.one_of(
    st.builds(CreditChanged, balance=pocket_balances),
    st.builds(
        RelayCommandPush,
        command_id=identifiers,
        meter_id=identifiers,
        action=st.sampled_from(RelayAction),
        reason=st.sampled_from(RelayReason),
        issued_at=instants,
    ),
    st.builds(ConfigVersionNotice, config_version=st.integers(0, 10**9)),
)


@given(ack=acks())
def test_any_ack_round_trips(ack: BatchAck) -> None:
    assert decode_ack(encode_message(ack)) == ack


@given(message=push_messages)
def test_any_push_message_round_trips(
    message: CreditChanged | RelayCommandPush | ConfigVersionNotice,
) -> None:
    assert decode_push(encode_message(message)) == message


@given(gateway_id=identifiers, journal_bodies=st.lists(bodies, min_size=1, max_size=5), start=instants)
def test_any_batch_carries_its_entries_byte_for_byte(
    gateway_id: str, journal_bodies: list[Body], start: datetime
) -> None:
    encoded = [encode_entry(e) for e in build_chain(journal_bodies, start)]
    received = decode_batch(encode_message(journal_batch(gateway_id, encoded)))
    assert received.gateway_id == gateway_id
    assert received.encoded_entries() == encoded
    assert verify_chain(received.encoded_entries()).ok

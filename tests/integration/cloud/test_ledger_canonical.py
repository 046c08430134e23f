"""The posting hash is over fixed, documented bytes: a golden vector pins them for good.

Pure (no database); it lives with the ledger's other tests. If this test fails, every stored chain
would stop verifying: change the encoding only with a migration that re-anchors the chain.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

from cloud.ledger.domain import GENESIS_HASH, PostingKind, StoredPosting, canonical_bytes, chain_hash

POSTING = StoredPosting(
    seq=1,
    idempotency_key="gateway:3:seq:17",
    kind=PostingKind.CHARGE,
    debit_account_id=12,
    credit_account_id=4,
    amount_cents=1234,
    currency="ZAR",
    effective_at=datetime(2026, 11, 22, 5, 30, tzinfo=timezone(timedelta(hours=2))),
    posted_at=datetime(2026, 11, 22, 3, 30, 0, 123456, tzinfo=UTC),
    memo='Unit A1 "kWh" é',
    hash=b"",
)

GOLDEN_BYTES = (
    b'{"amount_cents":1234,"credit_account_id":4,"currency":"ZAR","debit_account_id":12,'
    b'"effective_at":"2026-11-22T03:30:00.000000Z","idempotency_key":"gateway:3:seq:17","kind":"charge",'
    b'"memo":"Unit A1 \\"kWh\\" \xc3\xa9","posted_at":"2026-11-22T03:30:00.123456Z","seq":1}'
)
GOLDEN_HASH = "0b1455978cf1bb639adf8efe69bbd9a3bacfbdf3f18ebe9fc02f85da461c6981"


def test_canonical_bytes_are_sorted_compact_utf8_json_in_utc() -> None:
    assert canonical_bytes(POSTING) == GOLDEN_BYTES


def test_the_hash_is_sha256_of_the_previous_hash_then_the_canonical_bytes() -> None:
    assert chain_hash(GENESIS_HASH, POSTING).hex() == GOLDEN_HASH
    assert chain_hash(GENESIS_HASH, POSTING) == hashlib.sha256(bytes(32) + GOLDEN_BYTES).digest()

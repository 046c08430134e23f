"""Golden vectors: fixed entries → fixed bytes and hashes, forever.

Gateways in the field have hashed millions of entries with these rules; if a change to the code
alters one byte here, every stored chain would fail verification. These vectors are also printed
in docs/journal.md so another implementation can be checked against them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from shared.journal import GENESIS_PREV_HASH, decode_entry, encode_entry, verify_chain
from tests.support.paths import REPO_ROOT
from tests.unit.journal.samples import sample_chain

VECTORS: list[dict[str, Any]] = json.loads((Path(__file__).parent / "golden_vectors.json").read_text())[
    "vectors"
]
DOC = (REPO_ROOT / "docs" / "journal.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: f"{v['seq']}-{v['type']}")
def test_entry_encodes_to_its_golden_bytes(vector: dict[str, Any]) -> None:
    entry = sample_chain()[vector["seq"] - 1]
    assert encode_entry(entry).hex() == vector["encoded_hex"]
    assert entry.hash == vector["hash"]


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: f"{v['seq']}-{v['type']}")
def test_golden_bytes_decode_to_the_sample_entry(vector: dict[str, Any]) -> None:
    assert decode_entry(bytes.fromhex(vector["encoded_hex"])) == sample_chain()[vector["seq"] - 1]


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: f"{v['seq']}-{v['type']}")
def test_golden_hash_is_sha256_of_previous_hash_and_content(vector: dict[str, Any]) -> None:
    # Computed here from the written rule alone, not by the code under test.
    content = bytes.fromhex(vector["content_hex"])
    assert hashlib.sha256(bytes.fromhex(vector["prev_hash"]) + content).hexdigest() == vector["hash"]
    encoded = json.loads(bytes.fromhex(vector["encoded_hex"]))
    assert json.loads(content) == {k: v for k, v in encoded.items() if k not in {"hash", "prev_hash"}}
    assert (
        content
        == json.dumps(json.loads(content), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )


def test_golden_chain_starts_at_genesis_and_verifies() -> None:
    assert VECTORS[0]["prev_hash"] == GENESIS_PREV_HASH == "00" * 32
    verdict = verify_chain([bytes.fromhex(v["encoded_hex"]) for v in VECTORS])
    assert verdict.ok
    assert verdict.head.hash == VECTORS[-1]["hash"]


def test_every_body_type_has_a_golden_vector() -> None:
    assert [v["type"] for v in VECTORS] == [
        "Reading",
        "Charge",
        "RelayCommand",
        "RelayStateConfirmed",
        "Alarm",
        "CreditApplied",
        "ConfigApplied",
        "MeterReplaced",
    ]


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: f"{v['seq']}-{v['type']}")
def test_the_specification_prints_the_same_vectors(vector: dict[str, Any]) -> None:
    assert bytes.fromhex(vector["encoded_hex"]).decode("utf-8") in DOC
    assert vector["hash"] in DOC

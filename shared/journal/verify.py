"""Verifying a run of encoded entries: the whole journal on a gateway, or one batch in the cloud.

Verification streams: it holds one entry at a time, so a gateway can check millions of entries
from its store, and the cloud can check a batch against the last hash it stored
(``expected_first_seq = stored seq + 1``, ``expected_prev_hash = stored hash``).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

import msgspec

from shared.journal.entry import GENESIS_PREV_HASH, ChainHead, Entry, decode_with_content, link_hash
from shared.journal.errors import JournalError


class ProblemKind(enum.StrEnum):
    """Why an entry breaks the chain."""

    UNDECODABLE = "undecodable"
    """The bytes are not the canonical encoding of a valid entry."""
    GAP = "gap"
    """The seq is higher than expected: entries are missing before it."""
    OUT_OF_ORDER = "out_of_order"
    """The seq is lower than expected: a repeat, or entries out of order."""
    PREV_HASH_MISMATCH = "prev_hash_mismatch"
    """The entry does not link to the hash of the entry before it."""
    HASH_MISMATCH = "hash_mismatch"
    """The entry's hash is not the hash of its own content: it was altered after sealing."""
    UNEXPECTED_END = "unexpected_end"
    """The chain is sound but does not end at the expected head: entries were lost at the end
    (or added after it). Only checked when the caller knows where the chain should end."""


class ChainProblem(msgspec.Struct, frozen=True, kw_only=True):
    """The first bad entry: its position in the input (0-based), its seq if readable, and why."""

    index: int
    seq: int | None
    kind: ProblemKind
    detail: str


class ChainVerdict(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of :func:`verify_chain`; ``msgspec.json.encode`` renders it for ``--json``.

    ``head`` is the end of the verified part: continue from it with the next batch. When the
    input was empty, or its first entry bad, it is the expected start itself.
    """

    ok: bool
    entries_verified: int
    head: ChainHead
    problem: ChainProblem | None


def verify_chain(
    entries: Iterable[bytes],
    *,
    expected_first_seq: int = 1,
    expected_prev_hash: str = GENESIS_PREV_HASH,
    expected_last: ChainHead | None = None,
    decoded: list[Entry] | None = None,
) -> ChainVerdict:
    """Check that encoded ``entries`` form an unbroken chain starting where expected.

    Stops at the first bad entry and names it (position, seq, kind, detail). Each entry must
    decode canonically, carry the next seq with no gap, link to the previous hash and carry the
    hash of its own content; so any altered byte, dropped, repeated or reordered entry is found.
    Losing the *last* entries leaves a sound chain, so pass ``expected_last`` (a head recorded
    elsewhere, such as the gateway's stored journal head) to have that checked too.

    ``decoded``, when given, receives each verified entry decoded, so a caller that goes on to use
    them (the cloud storing a batch) need not decode them again.
    """
    head = ChainHead(seq=expected_first_seq - 1, hash=expected_prev_hash)
    verified = 0
    for index, data in enumerate(entries):
        outcome = _check_one(index, data, head)
        if isinstance(outcome, ChainProblem):
            return ChainVerdict(ok=False, entries_verified=verified, head=head, problem=outcome)
        if decoded is not None:
            decoded.append(outcome)
        head = outcome.head
        verified += 1
    if expected_last is not None and head != expected_last:
        problem = ChainProblem(
            index=verified,
            seq=None,
            kind=ProblemKind.UNEXPECTED_END,
            detail=f"the chain ends at seq {head.seq} with hash {head.hash}, "
            f"expected seq {expected_last.seq} with hash {expected_last.hash}",
        )
        return ChainVerdict(ok=False, entries_verified=verified, head=head, problem=problem)
    return ChainVerdict(ok=True, entries_verified=verified, head=head, problem=None)


def _check_one(index: int, data: bytes, head: ChainHead) -> Entry | ChainProblem:
    """The entry if it continues the chain from ``head``, else the problem with it."""
    try:
        entry, content = decode_with_content(data)
    except JournalError as error:
        return ChainProblem(index=index, seq=None, kind=ProblemKind.UNDECODABLE, detail=str(error))
    expected_seq = head.seq + 1
    if entry.seq != expected_seq:
        return _seq_problem(index, entry.seq, expected_seq)
    if entry.prev_hash != head.hash:
        return ChainProblem(
            index=index,
            seq=entry.seq,
            kind=ProblemKind.PREV_HASH_MISMATCH,
            detail=f"entry {entry.seq} links to {entry.prev_hash} "
            f"but the entry before it has hash {head.hash}",
        )
    # Decoding checked prev_hash is a digest (``HexDigest``): no need to check its form again.
    actual = link_hash(entry.prev_hash, content)
    if actual != entry.hash:
        return ChainProblem(
            index=index,
            seq=entry.seq,
            kind=ProblemKind.HASH_MISMATCH,
            detail=f"entry {entry.seq} carries hash {entry.hash} but its content hashes to {actual}",
        )
    return entry


def _seq_problem(index: int, seq: int, expected_seq: int) -> ChainProblem:
    if seq > expected_seq:
        missing = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}..{seq - 1}"
        detail = f"expected seq {expected_seq}, found {seq}: missing {missing}"
        return ChainProblem(index=index, seq=seq, kind=ProblemKind.GAP, detail=detail)
    detail = f"expected seq {expected_seq}, found {seq} again"
    return ChainProblem(index=index, seq=seq, kind=ProblemKind.OUT_OF_ORDER, detail=detail)

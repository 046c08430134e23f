"""How the cloud judges a journal batch against what it already holds for the gateway.

The decision is pure so that its rules live beside the statuses they produce; the cloud supplies
what it has stored (the head, and the hashes of the entries a batch overlaps) and stores
``to_store`` in one transaction when the status is ``accepted``. A batch is taken whole or not
at all, so the stored chain is always a verified prefix of the gateway's journal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec

from shared.journal import ChainHead, Entry, JournalError, ProblemKind, decode_entry, verify_chain
from shared.journal.bodies import MAX_DETAIL_CHARS
from shared.sync.errors import SyncError
from shared.sync.messages import AckStatus, BatchAck, PocketBalance


class BatchAssessment(msgspec.Struct, frozen=True, kw_only=True):
    """What to do with a batch: the status, the entries to store, and the head after storing.

    ``decoded`` holds the entries of ``to_store`` as verification decoded them, in the same order.
    """

    status: AckStatus
    to_store: list[bytes]
    head: ChainHead
    detail: str | None
    decoded: list[Entry] = msgspec.field(default_factory=list)

    def ack(self, *, balances: list[PocketBalance], config_version: int) -> BatchAck:
        """The :class:`BatchAck` answering the batch, once ``to_store`` is stored."""
        refused = self.status in {AckStatus.GAP, AckStatus.BROKEN_CHAIN}
        return BatchAck(
            status=self.status,
            acknowledged_seq=self.head.seq,
            expected_seq=self.head.seq + 1 if refused else None,
            detail=self.detail,
            balances=balances,
            config_version=config_version,
        )


def overlap_seqs(entries: Sequence[bytes], *, stored: ChainHead) -> range:
    """The seqs of ``entries`` the cloud already holds: fetch their hashes for :func:`assess_batch`.

    Empty when the batch starts after the stored head, or its first entry cannot be read (the
    assessment then refuses it without needing any stored hash).
    """
    if not entries:
        return range(0)
    try:
        first_seq = decode_entry(entries[0]).seq
    except JournalError:
        return range(0)
    return range(first_seq, min(stored.seq, first_seq + len(entries) - 1) + 1)


def assess_batch(
    entries: Sequence[bytes], *, stored: ChainHead, stored_hashes: Mapping[int, str]
) -> BatchAssessment:
    """Judge a batch against the stored head and the stored hashes at :func:`overlap_seqs`.

    - starts after ``stored.seq + 1`` → ``gap``;
    - not a sound chain in itself, or an entry differs from the one stored at its seq, or the
      first new entry does not link to the stored head → ``broken_chain`` (``gap`` if the fault
      is a seq missing inside the batch);
    - every entry already held identically → ``duplicate``;
    - otherwise ``accepted``, with the new entries to store.
    """
    if not entries:
        raise SyncError("assess_batch: a batch holds at least one entry")
    try:
        first = decode_entry(entries[0])
    except JournalError as error:
        return _refused(stored, AckStatus.BROKEN_CHAIN, f"batch entry 0: {error}")
    if first.seq > stored.seq + 1:
        return _refused(
            stored, AckStatus.GAP, f"batch starts at seq {first.seq}; the cloud holds up to {stored.seq}"
        )
    starts_fresh = first.seq == stored.seq + 1
    decoded: list[Entry] = []
    verdict = verify_chain(
        entries,
        expected_first_seq=first.seq,
        expected_prev_hash=stored.hash if starts_fresh else first.prev_hash,
        decoded=decoded,
    )
    if verdict.problem is not None:
        status = AckStatus.GAP if verdict.problem.kind is ProblemKind.GAP else AckStatus.BROKEN_CHAIN
        return _refused(stored, status, f"batch entry {verdict.problem.index}: {verdict.problem.detail}")
    overlap = len(range(first.seq, stored.seq + 1))
    for index, entry in enumerate(decoded[:overlap]):
        seq, entry_hash = first.seq + index, entry.hash
        held = stored.hash if seq == stored.seq else stored_hashes.get(seq)
        if held is None:
            raise SyncError(f"assess_batch: the stored hash of seq {seq} is needed (see overlap_seqs)")
        if held != entry_hash:
            return _refused(
                stored,
                AckStatus.BROKEN_CHAIN,
                f"batch entry {index}: seq {seq} has hash {entry_hash}, the cloud holds {held}",
            )
    if overlap >= len(entries):
        return BatchAssessment(status=AckStatus.DUPLICATE, to_store=[], head=stored, detail=None)
    return BatchAssessment(
        status=AckStatus.ACCEPTED,
        to_store=list(entries[overlap:]),
        head=verdict.head,
        detail=None,
        decoded=decoded[overlap:],
    )


def _refused(stored: ChainHead, status: AckStatus, detail: str) -> BatchAssessment:
    # Nothing is stored, so the head stays where the cloud has it.
    return BatchAssessment(status=status, to_store=[], head=stored, detail=detail[:MAX_DETAIL_CHARS])

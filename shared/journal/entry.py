"""Journal entries: sequence number, time, body, and their place in the hash chain.

``hash = SHA-256(bytes of prev_hash ‖ canonical bytes of {body, recorded_at, seq})``, written as
lowercase hex; the first entry of a gateway has seq 1 and ``prev_hash`` of 32 zero bytes. An entry
is stored and sent in its *encoded* form: the canonical bytes of all five fields. Exactly one byte
string decodes to a given entry, so the cloud can store what it receives and verify it later.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

import msgspec

from shared.journal.bodies import Body, HexDigest, Instant, Seq
from shared.journal.canonical import canonical_datetime, canonical_tree, encode_tree
from shared.journal.errors import JournalError

#: ``prev_hash`` of a gateway's first entry: 32 zero bytes.
GENESIS_PREV_HASH = "0" * 64
#: Largest encoded entry accepted; alarm details and measurement maps are bounded to stay below it.
MAX_ENTRY_BYTES = 4096


class ChainHead(msgspec.Struct, frozen=True, kw_only=True):
    """The end of a chain: the last entry's seq and hash (seq 0 and zero hash when empty)."""

    seq: int
    hash: HexDigest


#: The head of a journal with no entries yet.
GENESIS = ChainHead(seq=0, hash=GENESIS_PREV_HASH)


class Entry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One fact in a gateway's journal. Build with :func:`next_entry`, never by hand."""

    seq: Seq
    recorded_at: Instant
    body: Body
    prev_hash: HexDigest
    hash: HexDigest

    @property
    def head(self) -> ChainHead:
        """The chain head this entry leaves behind, to build the next entry from."""
        return ChainHead(seq=self.seq, hash=self.hash)


_DECODER = msgspec.json.Decoder(Entry)
_HEX_DIGEST = re.compile("[0-9a-f]{64}")


def chain_hash(prev_hash: str, content: bytes) -> str:
    """``SHA-256(prev_hash bytes ‖ content)`` as lowercase hex: the chain's one hash rule."""
    if not _HEX_DIGEST.fullmatch(prev_hash):
        raise JournalError(f"prev_hash: expected 64 lowercase hex digits, got {prev_hash[:80]!r}")
    return link_hash(prev_hash, content)


def link_hash(prev_hash: str, content: bytes) -> str:
    """:func:`chain_hash` for a ``prev_hash`` already known to be a digest (verification's hot path)."""
    digest = hashlib.sha256(bytes.fromhex(prev_hash))
    digest.update(content)
    return digest.hexdigest()


def next_entry(head: ChainHead, body: Body, *, recorded_at: datetime) -> Entry:
    """The entry that follows ``head`` (see :func:`seal_entry`, which also returns its bytes)."""
    return seal_entry(head, body, recorded_at=recorded_at)[0]


def seal_entry(head: ChainHead, body: Body, *, recorded_at: datetime) -> tuple[Entry, bytes]:
    """The entry that follows ``head``: seq ``head.seq + 1``, linked to and hashed after it.

    The body is checked as the cloud will check it (types, bounds, no floats, aware datetimes),
    so a fact that could not be decoded later never enters the chain. The returned entry is the
    decoded form: datetimes in UTC, exactly as :func:`decode_entry` will return it.
    """
    seq = head.seq + 1
    content_tree = {
        "body": canonical_tree(body, where="body"),
        "recorded_at": canonical_datetime(recorded_at, where="recorded_at"),
        "seq": seq,
    }
    digest = chain_hash(head.hash, encode_tree(content_tree))
    encoded = encode_tree({**content_tree, "prev_hash": head.hash, "hash": digest})
    return _decode_form(encoded, what=f"new entry {seq} ({type(body).__name__})"), encoded


def encode_entry(entry: Entry) -> bytes:
    """The canonical bytes of ``entry``: what the gateway stores and sends, and the cloud keeps."""
    return _encode(entry)[0]


def decode_entry(data: bytes) -> Entry:
    """Decode one encoded entry, refusing anything but the canonical bytes of a valid entry.

    Raises :class:`JournalError` naming the field and the expectation. The hash is not checked
    here (it needs the previous entry): :func:`shared.journal.verify_chain` does that.
    """
    return decode_with_content(data)[0]


def decode_with_content(data: bytes) -> tuple[Entry, bytes]:
    """Decode one encoded entry; also return its hashed content bytes (for verification)."""
    entry = _decode_form(data, what="entry")
    encoded, content = _encode(entry)
    if encoded != data:
        at = next((i for i, (a, b) in enumerate(zip(encoded, data, strict=False)) if a != b), len(encoded))
        raise JournalError(
            f"entry {entry.seq} is not in canonical form: it differs from its canonical encoding at byte "
            f"{at} (expected {encoded[at : at + 24]!r}, found {bytes(data[at : at + 24])!r})"
        )
    return entry, content


def content_hash(entry: Entry) -> str:
    """The hash ``entry`` should carry given its ``prev_hash``, seq, time and body."""
    return chain_hash(entry.prev_hash, _encode(entry)[1])


def _encode(entry: Entry) -> tuple[bytes, bytes]:
    """The entry's canonical bytes, and its hashed content (the same object without the hashes)."""
    recorded_at = canonical_datetime(entry.recorded_at, where="recorded_at")
    tree = {
        "body": canonical_tree(entry.body, where="body"),
        "hash": entry.hash,
        "prev_hash": entry.prev_hash,
        "recorded_at": recorded_at,
        "seq": entry.seq,
    }
    encoded = encode_tree(tree)
    # Keys are sorted, so the bytes read {"body":…,"hash":"…","prev_hash":"…","recorded_at":…}:
    # the content is those bytes with the two hashes cut out, which is what encoding it again
    # would give, at a fraction of the cost. Hashes that needed escaping take the long way.
    hashes = b',"hash":"' + entry.hash.encode() + b'","prev_hash":"' + entry.prev_hash.encode() + b'"'
    tail = len(b',"recorded_at":"",') + len(recorded_at) + len(b'"seq":}') + len(str(entry.seq))
    cut = len(encoded) - tail - len(hashes)
    if encoded[cut : cut + len(hashes)] == hashes:
        return encoded, encoded[:cut] + encoded[cut + len(hashes) :]
    del tree["hash"], tree["prev_hash"]
    return encoded, encode_tree(tree)


def _decode_form(data: bytes, *, what: str) -> Entry:
    if len(data) > MAX_ENTRY_BYTES:
        raise JournalError(f"{what} is {len(data)} bytes encoded; at most {MAX_ENTRY_BYTES} are allowed")
    try:
        return _DECODER.decode(data)
    except msgspec.ValidationError as error:
        raise JournalError(f"{what}: {error}") from None
    except msgspec.DecodeError as error:
        raise JournalError(f"{what} is not valid JSON: {error}") from None
    except UnicodeDecodeError as error:
        raise JournalError(f"{what} is not valid UTF-8 text ({error.reason})") from None

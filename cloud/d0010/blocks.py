"""Input in blocks of whole lines, cut where a new 026 group starts, so the fast path sees whole groups.

A file is read in large chunks (one ``read`` per megabyte instead of one Python object per line);
an iterable of lines is joined into blocks the same way. Each block ends with a newline and has its
CRLF endings turned into LF; the digest covers the bytes exactly as given.
"""

from collections.abc import Callable, Iterable, Iterator
from typing import Protocol, runtime_checkable

#: Bytes read per call: large enough that per-call costs vanish, small enough to keep memory flat.
CHUNK_BYTES = 1 << 20
#: Lines joined per block when the input is an iterable of lines.
LINES_PER_BATCH = 8192
GROUP_START = b"\n026|"
#: Bytes held while no group start is found, before they are passed on without one.
PENDING_BYTES_MAX = 8 * CHUNK_BYTES


@runtime_checkable
class Readable(Protocol):
    """A binary file opened for reading."""

    def read(self, size: int = -1, /) -> bytes: ...  # a file's own


class Block:
    """Whole lines of the input, in order.

    ``data`` starts with a newline that is not part of the input (so every line, the first too,
    follows one: searches can look for ``\\n026|``) and ends with a newline (LF only).
    ``at_group_start`` says whether the next input line (if any) starts a new 026 group, so the
    last group of the block is known to be complete.
    ``verbatim`` is set instead of ``data`` for lines that cannot be joined (a "line" holding a
    line break of its own): each is then one line, exactly as given.
    """

    __slots__ = ("at_group_start", "data", "verbatim")

    def __init__(self, data: bytes, *, at_group_start: bool, verbatim: list[bytes] | None = None) -> None:
        self.data = b"\n" + (data.replace(b"\r\n", b"\n") if b"\r" in data else data)
        self.at_group_start = at_group_start
        self.verbatim = verbatim


def blocks(source: Iterable[bytes] | Readable, digest: Callable[[bytes], object]) -> Iterator[Block]:
    """The input as blocks; a binary file is read in chunks, anything else taken as lines."""
    if isinstance(source, Readable):
        return _from_file(source, digest)
    return _from_lines(source, digest)


def _from_file(file: Readable, digest: Callable[[bytes], object]) -> Iterator[Block]:
    rest = b""
    while chunk := file.read(CHUNK_BYTES):
        digest(chunk)
        rest, block = _cut(rest + chunk)
        if block is not None:
            yield block
    if rest:
        yield Block(rest if rest.endswith(b"\n") else rest + b"\n", at_group_start=False)


def _from_lines(lines: Iterable[bytes], digest: Callable[[bytes], object]) -> Iterator[Block]:
    rest = b""
    batch: list[bytes] = []
    for line in lines:
        digest(line)
        batch.append(line if line.endswith(b"\n") else line + b"\n")
        if len(batch) >= LINES_PER_BATCH:
            rest, found = _batch(rest, batch)
            yield from found
            batch = []
    rest, found = _batch(rest, batch)
    yield from found
    if rest:
        yield Block(rest, at_group_start=False)


def _batch(rest: bytes, batch: list[bytes]) -> tuple[bytes, list[Block]]:
    """Join a batch of lines onto ``rest``; lines holding a line break of their own stay verbatim."""
    joined = b"".join(batch)
    if joined.count(b"\n") == len(batch):
        rest, block = _cut(rest + joined)
        return rest, [] if block is None else [block]
    found = [Block(rest, at_group_start=False)] if rest else []
    raw = [line.removesuffix(b"\n") for line in batch]
    return b"", [*found, Block(b"", at_group_start=False, verbatim=raw)]


def _cut(buffer: bytes) -> tuple[bytes, Block | None]:
    """Split ``buffer`` before its last group start: (what to keep for later, the block to process)."""
    cut = buffer.rfind(GROUP_START)
    if cut >= 0:
        return buffer[cut + 1 :], Block(buffer[: cut + 1], at_group_start=True)
    # No group starts here (a huge group, or no groups at all): pass on the whole lines anyway,
    # so memory stays bounded; the parser checks them line by line.
    end = buffer.rfind(b"\n") if len(buffer) > PENDING_BYTES_MAX else -1
    if end < 0:
        return buffer, None
    return buffer[end + 1 :], Block(buffer[: end + 1], at_group_start=False)

"""What a gateway signs on every request, and how the cloud checks the time it claims.

The gateway signs :func:`signing_payload` with its Ed25519 key and sends the signature, base64
encoded, in :data:`HEADER_SIGNATURE`, beside its id and the timestamp it signed. The cloud rebuilds
the same bytes from the request it received, verifies the signature with the gateway's enrolled
public key, and refuses a timestamp outside :data:`CLOCK_SKEW_WINDOW_S` of its own clock (so a
captured request cannot be replayed later). Key handling and the Ed25519 operations themselves
belong to the adapters (``cryptography``); this module only fixes the bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from datetime import datetime, timedelta

from shared.journal import JournalError, canonical_datetime
from shared.sync.errors import SyncError

HEADER_GATEWAY_ID = "X-Quantify-Gateway-Id"
HEADER_TIMESTAMP = "X-Quantify-Timestamp"
HEADER_SIGNATURE = "X-Quantify-Signature"
#: First line of every signed payload; a new scheme gets a new name, never new bytes under this one.
SIGNATURE_SCHEME = "quantify-gateway-ed25519-v1"
#: How far a request's timestamp may be from the cloud's clock, either way.
CLOCK_SKEW_WINDOW_S = 300
ED25519_SIGNATURE_BYTES = 64

_METHOD = re.compile(r"[A-Z]{1,16}")
# A path as sent on the request line: printable ASCII, no spaces.
_PATH = re.compile(r"/[!-~]{0,2047}")
_GATEWAY_ID = re.compile(r"[!-~]{1,128}")
_TIMESTAMP_EXAMPLE = "RFC 3339 UTC with microseconds, such as 2026-11-22T03:21:26.000000Z"
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")


def timestamp_header(at: datetime) -> str:
    """The :data:`HEADER_TIMESTAMP` value for a request signed at ``at`` (RFC 3339 UTC, µs, ``Z``)."""
    try:
        return canonical_datetime(at, where=HEADER_TIMESTAMP)
    except JournalError as error:
        raise SyncError(str(error)) from None


def parse_timestamp_header(text: str) -> datetime:
    """The instant a :data:`HEADER_TIMESTAMP` value names; only the exact signed form is accepted."""
    if not _TIMESTAMP.fullmatch(text):
        raise SyncError(f"{HEADER_TIMESTAMP}: expected {_TIMESTAMP_EXAMPLE}, got {text!r}")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise SyncError(f"{HEADER_TIMESTAMP}: {text!r} is not a real date and time") from None


def within_clock_skew(signed_at: datetime, now: datetime) -> bool:
    """Whether a request signed at ``signed_at`` is acceptable to a server whose clock says ``now``."""
    return abs(signed_at - now) <= timedelta(seconds=CLOCK_SKEW_WINDOW_S)


def signing_payload(*, gateway_id: str, method: str, path: str, timestamp: str, body: bytes) -> bytes:
    """The exact bytes a gateway signs for one request.

    Six lines joined by ``\\n`` (no trailing newline), ASCII: the scheme name, the gateway id, the
    HTTP method in upper case, the path with its query string exactly as sent, the
    :data:`HEADER_TIMESTAMP` value, and the lowercase hex SHA-256 of the body (of zero bytes when
    there is none). Each part is checked so that no two requests share a payload.
    """
    _require(_GATEWAY_ID, gateway_id, HEADER_GATEWAY_ID, "1-128 printable ASCII characters")
    _require(_METHOD, method, "method", "an HTTP method in upper case, such as POST")
    _require(_PATH, path, "path", "a path starting with / in printable ASCII, without spaces")
    _require(_TIMESTAMP, timestamp, HEADER_TIMESTAMP, _TIMESTAMP_EXAMPLE)
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join((SIGNATURE_SCHEME, gateway_id, method, path, timestamp, digest)).encode("ascii")


def encode_signature(signature: bytes) -> str:
    """The :data:`HEADER_SIGNATURE` value for a raw Ed25519 signature: standard base64."""
    if len(signature) != ED25519_SIGNATURE_BYTES:
        raise SyncError(f"signature: expected {ED25519_SIGNATURE_BYTES} bytes, got {len(signature)}")
    return base64.b64encode(signature).decode("ascii")


def decode_signature(text: str) -> bytes:
    """The raw Ed25519 signature in a :data:`HEADER_SIGNATURE` value."""
    try:
        signature = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SyncError(f"{HEADER_SIGNATURE}: expected standard base64, got {text[:100]!r}") from None
    if len(signature) != ED25519_SIGNATURE_BYTES:
        raise SyncError(f"{HEADER_SIGNATURE}: expected {ED25519_SIGNATURE_BYTES} bytes, got {len(signature)}")
    return signature


def _require(pattern: re.Pattern[str], value: str, field: str, expected: str) -> None:
    if not pattern.fullmatch(value):
        raise SyncError(f"{field}: expected {expected}, got {value[:100]!r}")

"""The gateway API's endpoints and the messages around the journal: enrolment, config, push, refusals.

Every request but enrolment is signed (``shared.sync.signing``). The exchange:

1. ``POST ENROL_PATH`` with a one-time code and the gateway's new Ed25519 public key →
   :class:`EnrolResponse` (the gateway's id and its first :class:`GatewayConfigDocument`).
2. ``POST JOURNAL_PATH`` with a :class:`~shared.sync.JournalBatch` → :class:`~shared.sync.BatchAck`
   (acknowledged seq, balances by watermark, the current config version).
3. ``GET CONFIG_PATH`` → the current :class:`GatewayConfigDocument`, pulled when an ack or a push
   names a newer version than the gateway has applied.
4. ``GET PUSH_PATH?after=CURSOR`` → :class:`PushBatch`: a long poll (up to
   :data:`PUSH_LONG_POLL_S`) answered at once when a message is waiting; the gateway keeps one open
   at all times and passes the last cursor it applied, so nothing pushed is missed or applied twice.

A refused signed request answers 401 with a :class:`GatewayRefusal` naming why.
"""

from __future__ import annotations

import enum
import hashlib
from decimal import Decimal
from typing import Annotated, Any

import msgspec

from shared.journal import Pocket
from shared.journal.canonical import encode_canonical
from shared.quantities import Utility
from shared.sync.messages import PushMessage

ENROL_PATH = "/gateway/v1/enrol"
JOURNAL_PATH = "/gateway/v1/journal"
CONFIG_PATH = "/gateway/v1/config"
PUSH_PATH = "/gateway/v1/push"
#: The longest the cloud holds a push poll open before answering with no messages.
PUSH_LONG_POLL_S = 25
#: Raw Ed25519 public keys are 32 bytes: 44 characters of standard base64.
ED25519_PUBLIC_KEY_BYTES = 32

_Id = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
_Cursor = Annotated[int, msgspec.Meta(ge=0)]


class EnrolRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A gateway's first request: the one-time code an admin was given, and its public key."""

    code: Annotated[str, msgspec.Meta(min_length=8, max_length=64)]
    public_key: Annotated[str, msgspec.Meta(min_length=44, max_length=44)]
    """The raw 32-byte Ed25519 public key, standard base64."""
    agent_version: Annotated[str, msgspec.Meta(max_length=64)] = ""


class ConfigMeter(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One meter the gateway reads, as the cloud knows it; connection details stay local when null."""

    id: _Id
    unit: Annotated[str, msgspec.Meta(max_length=200)]
    utility: Utility
    profile: _Id
    wallet_id: _Id | None
    pocket: Pocket
    bus: _Id | None = None
    """The gateway-local bus id for a Modbus meter (buses themselves are configured on site)."""
    address: Annotated[int, msgspec.Meta(ge=1, le=247)] | None = None
    poll_interval_s: Annotated[int, msgspec.Meta(ge=1, le=86_400)] = 60
    dev_eui: Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{16}$")] | None = None
    imei: Annotated[str, msgspec.Meta(pattern="^[0-9]{15}$")] | None = None
    serial: _Id | None = None
    """The installed meter's serial; a new one for the same meter id is a meter replacement."""
    replaced_serial: _Id | None = None
    """The serial of the meter removed at the replacement that fitted ``serial`` (null if none)."""
    old_meter_final_reading: Decimal | None = None
    """At that replacement: the removed meter's display (kWh or kL) as it came off, billed up to;
    null when the installer did not give it (or there was no replacement). The gateway uses the
    two readings only when the meter it last read is ``replaced_serial``."""
    new_meter_first_reading: Decimal | None = None
    """At that replacement: the new meter's display (kWh or kL) as fitted, billed from."""


class ConfigWallet(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A wallet the gateway enforces, with how far below zero it may go before disconnection."""

    id: _Id
    credit_limit_cents: Annotated[int, msgspec.Meta(ge=0)] = 0


class GatewayConfigDocument(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything the cloud decides for a gateway, versioned; applied atomically by the gateway.

    ``tariffs`` holds, per utility, the TOML text of each effective-dated version
    (``docs/tariffs.md``); ``credit`` the policy table per utility as ``docs/credit-control.md``
    describes it (``[credit.<utility>]`` in ``edge.toml``).
    """

    version: _Cursor
    gateway_id: _Id
    estate_id: _Id
    timezone: Annotated[str, msgspec.Meta(max_length=64)]
    holiday_country: Annotated[str, msgspec.Meta(pattern="^[A-Z]{2}$")]
    meters: list[ConfigMeter]
    wallets: list[ConfigWallet]
    tariffs: dict[Utility, list[str]]
    credit: dict[Utility, dict[str, Any]]


def config_digest(document: GatewayConfigDocument) -> str:
    """SHA-256 (hex) of the document's canonical bytes: what ``config_applied`` records."""
    return hashlib.sha256(encode_canonical(document)).hexdigest()


class EnrolResponse(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The gateway's identity in the cloud and its first configuration."""

    gateway_id: _Id
    estate_id: _Id
    estate_name: Annotated[str, msgspec.Meta(max_length=200)]
    config: GatewayConfigDocument


class PushBatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Messages pushed since the gateway's cursor, and the cursor to pass next time."""

    messages: list[PushMessage]
    cursor: _Cursor


class RefusalReason(enum.StrEnum):
    """Why the cloud refused a gateway's request (each a distinct, documented error)."""

    MALFORMED = "malformed"
    """The identity, timestamp or signature header is missing or not in its format."""
    UNKNOWN_GATEWAY = "unknown_gateway"
    REVOKED_GATEWAY = "revoked_gateway"
    """The key was revoked (the gateway re-enrolled with a new key, or an admin revoked it)."""
    BAD_SIGNATURE = "bad_signature"
    STALE_TIMESTAMP = "stale_timestamp"
    """The timestamp is outside the allowed clock skew: a replay, or a gateway clock far off."""
    BAD_ENROLMENT_CODE = "bad_enrolment_code"
    """The code is unknown, already used, or expired."""


class GatewayRefusal(msgspec.Struct, frozen=True, kw_only=True):
    """The body of a refused gateway request."""

    reason: RefusalReason
    detail: Annotated[str, msgspec.Meta(max_length=1000)]

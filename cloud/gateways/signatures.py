"""Checking a signed gateway request: who claims to send it, when, and whether the key agrees.

The checks run cheapest first and each refusal names its own reason: headers missing or
malformed, a timestamp outside the clock-skew window, a gateway the cloud does not know (or that
never enrolled), a key that was revoked, a signature that does not verify.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.estates.metering_models import Gateway, GatewayStatus
from cloud.gateways.errors import GatewayRefused
from cloud.gateways.models import GatewayKey
from shared.sync import (
    HEADER_GATEWAY_ID,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    SyncError,
    decode_signature,
    parse_timestamp_header,
    signing_payload,
    within_clock_skew,
)
from shared.sync.gateway_api import RefusalReason

_MAX_GATEWAY_ID_DIGITS = 18


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """What a signature covers, as the cloud received it."""

    headers: Mapping[str, str]
    method: str
    path: str
    """The path with its query string, exactly as on the request line."""
    body: bytes


async def authenticate(session: AsyncSession, request: SignedRequest, *, now: datetime) -> int:
    """The id of the gateway that signed ``request``; raises :class:`GatewayRefused` otherwise."""
    claimed, timestamp, signature = _signed_headers(request.headers)
    try:
        signed_at = parse_timestamp_header(timestamp)
        payload = signing_payload(
            gateway_id=claimed,
            method=request.method,
            path=request.path,
            timestamp=timestamp,
            body=request.body,
        )
        raw_signature = decode_signature(signature)
    except SyncError as error:
        raise GatewayRefused(RefusalReason.MALFORMED, str(error)) from None
    if not within_clock_skew(signed_at, now):
        raise GatewayRefused(
            RefusalReason.STALE_TIMESTAMP,
            f"{HEADER_TIMESTAMP} {timestamp} is more than the allowed skew from the cloud's clock "
            f"({now.isoformat()}); check the gateway's clock (NTP)",
        )
    gateway_id = _gateway_number(claimed)
    keys = await _keys(session, gateway_id)
    active = [key for key, revoked in keys if not revoked]
    if any(_verifies(key, raw_signature, payload) for key in active):
        return gateway_id
    if any(_verifies(key, raw_signature, payload) for key, revoked in keys if revoked) or (
        keys and not active
    ):
        raise GatewayRefused(
            RefusalReason.REVOKED_GATEWAY, f"gateway {claimed}: this key was revoked; enrol again"
        )
    raise GatewayRefused(RefusalReason.BAD_SIGNATURE, f"gateway {claimed}: the signature does not verify")


def _signed_headers(headers: Mapping[str, str]) -> tuple[str, str, str]:
    values = []
    for name in (HEADER_GATEWAY_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE):
        value = headers.get(name.lower()) or headers.get(name)
        if not value:
            raise GatewayRefused(RefusalReason.MALFORMED, f"the {name} header is missing")
        values.append(value)
    return values[0], values[1], values[2]


def _gateway_number(claimed: str) -> int:
    if not claimed.isdigit() or len(claimed) > _MAX_GATEWAY_ID_DIGITS:
        raise GatewayRefused(RefusalReason.UNKNOWN_GATEWAY, f"no gateway {claimed[:40]!r} is registered")
    return int(claimed)


async def _keys(session: AsyncSession, gateway_id: int) -> list[tuple[bytes, bool]]:
    """The gateway's keys (raw, revoked?), newest first; refuses an unknown or never enrolled gateway."""
    status = await session.scalar(select(Gateway.status).where(Gateway.id == gateway_id))
    rows = (
        await session.execute(
            select(GatewayKey.public_key, GatewayKey.revoked_at)
            .where(GatewayKey.gateway_id == gateway_id)
            .order_by(GatewayKey.id.desc())
        )
    ).all()
    if status is None or not rows:
        raise GatewayRefused(
            RefusalReason.UNKNOWN_GATEWAY, f"gateway {gateway_id} is not registered or never enrolled"
        )
    retired = status == GatewayStatus.RETIRED.value
    return [(bytes(key), retired or revoked_at is not None) for key, revoked_at in rows]


def _verifies(public_key: bytes, signature: bytes, payload: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, payload)
    except InvalidSignature:
        return False
    return True

"""Enrolment: an admin issues a one-time code; the gateway trades it for a registered key.

The code is random (144 bits), shown once, stored only as its SHA-256, expires, and works once.
Enrolling again with a new code registers the new key and revokes every older one, so a gateway
that was replaced (or a stolen key) is refused as ``revoked_gateway`` from then on.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import CursorResult, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.audit.actor import Actor
from cloud.audit.services import record
from cloud.errors import ValidationFailed
from cloud.estates.metering import get_gateway
from cloud.estates.metering_models import GatewayStatus
from cloud.estates.scope import Scope
from cloud.gateways.config import current_config, gateway_context
from cloud.gateways.errors import GatewayRefused
from cloud.gateways.models import EnrolmentCode, GatewayKey, GatewaySyncState
from shared.sync.gateway_api import ED25519_PUBLIC_KEY_BYTES, EnrolRequest, EnrolResponse, RefusalReason

#: How long a code stays valid unless the admin asks otherwise, and the longest allowed.
MAX_CODE_TTL = timedelta(days=7)
_CODE_BYTES = 18


@dataclass(frozen=True, slots=True)
class IssuedCode:
    """A code as issued: show ``code`` to the installer once; the cloud keeps only its hash."""

    gateway_id: int
    code: str
    expires_at: datetime


def code_digest(code: str) -> bytes:
    """What the cloud stores and looks codes up by (a fast hash suffices: codes are random)."""
    return hashlib.sha256(code.encode("utf-8")).digest()


async def create_enrolment_code(
    session: AsyncSession, scope: Scope, actor: Actor, gateway_id: int, ttl: timedelta, *, now: datetime
) -> IssuedCode:
    """Issue a one-time code for ``gateway_id``, valid for ``ttl`` from ``now``."""
    if not timedelta(minutes=1) <= ttl <= MAX_CODE_TTL:
        raise ValidationFailed(f"ttl: expected 1 minute to {MAX_CODE_TTL.days} days, got {ttl}")
    gateway = await get_gateway(session, scope, gateway_id)
    if gateway.status == GatewayStatus.RETIRED.value:
        raise ValidationFailed(f"gateway {gateway_id} is retired; register a new gateway instead")
    code = secrets.token_urlsafe(_CODE_BYTES)
    expires_at = now + ttl
    session.add(EnrolmentCode(gateway_id=gateway_id, code_sha256=code_digest(code), expires_at=expires_at))
    await session.flush()
    await record(
        session,
        actor,
        "gateway.enrolment_code",
        ("gateway", gateway_id),
        estate_id=gateway.estate_id,
        before=None,
        after={"expires_at": expires_at.isoformat()},
    )
    return IssuedCode(gateway_id=gateway_id, code=code, expires_at=expires_at)


async def enrol(
    session: AsyncSession, request: EnrolRequest, *, source: str | None, now: datetime
) -> EnrolResponse:
    """Register the gateway's key for a valid code, revoking older keys; answer with its config."""
    public_key = _public_key(request.public_key)
    found = await session.scalar(
        select(EnrolmentCode).where(EnrolmentCode.code_sha256 == code_digest(request.code)).with_for_update()
    )
    if found is None or found.used_at is not None or found.expires_at <= now:
        # One answer for all three, so a guesser learns nothing about which codes exist.
        raise GatewayRefused(
            RefusalReason.BAD_ENROLMENT_CODE, "the enrolment code is unknown, used or expired"
        )
    found.used_at = now
    gateway_id = found.gateway_id
    revoked = await _revoke(session, gateway_id, now)
    session.add(GatewayKey(gateway_id=gateway_id, public_key=public_key, agent_version=request.agent_version))
    await session.execute(insert(GatewaySyncState).values(gateway_id=gateway_id).on_conflict_do_nothing())
    context = await gateway_context(session, gateway_id)
    context.gateway.status = GatewayStatus.ACTIVE.value
    await session.flush()
    actor = Actor(
        user_id=None, role="gateway", source_address=source, reason="gateway enrolled with a one-time code"
    )
    await record(
        session,
        actor,
        "gateway.enrol",
        ("gateway", gateway_id),
        estate_id=context.estate.id,
        before=None,
        after={"keys_revoked": revoked, "agent_version": request.agent_version},
    )
    config = await current_config(session, context)
    return EnrolResponse(
        gateway_id=str(gateway_id),
        estate_id=str(context.estate.id),
        estate_name=context.estate.name,
        config=config,
    )


async def _revoke(session: AsyncSession, gateway_id: int, now: datetime) -> int:
    result = await session.execute(
        update(GatewayKey)
        .where(GatewayKey.gateway_id == gateway_id, GatewayKey.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def _public_key(text: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != ED25519_PUBLIC_KEY_BYTES:
        raise GatewayRefused(
            RefusalReason.MALFORMED,
            f"public_key: expected the raw {ED25519_PUBLIC_KEY_BYTES}-byte Ed25519 key in standard base64",
        )
    return raw

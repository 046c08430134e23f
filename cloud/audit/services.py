"""Write and read the audit trail."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.audit.actor import Actor
from cloud.audit.models import AuditRecord
from cloud.estates.scope import Scope

#: Most records one query returns; the API pages with ``before_id``.
PAGE_MAX = 500


async def record(
    session: AsyncSession,
    actor: Actor,
    action: str,
    subject: tuple[str, object],
    *,
    estate_id: int | None,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> None:
    """Append one audit record in the caller's transaction, so it commits with the change itself.

    ``subject`` is (type, id), e.g. ``("pocket", 42)``; ``action`` a dotted verb such as
    ``"wallet.top_up"``. ``before``/``after`` must be JSON-ready (ints for cents, ISO strings).
    """
    subject_type, subject_id = subject
    await (await session.connection()).execute(
        insert(AuditRecord).values(
            actor_user_id=actor.user_id,
            actor_role=actor.role,
            source_address=actor.source_address,
            reason=actor.reason,
            action=action,
            subject_type=subject_type,
            subject_id=str(subject_id),
            estate_id=estate_id,
            before=dict(before) if before is not None else None,
            after=dict(after) if after is not None else None,
        )
    )


async def list_records(
    session: AsyncSession,
    scope: Scope,
    *,
    subject: tuple[str, object] | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> Sequence[AuditRecord]:
    """The newest audit records within ``scope``, optionally for one subject, newest first.

    Records without an estate (platform-wide changes) are visible only to an unrestricted scope.
    """
    query = select(AuditRecord).order_by(AuditRecord.id.desc()).limit(min(limit, PAGE_MAX))
    if scope.estate_ids is not None:
        query = query.where(AuditRecord.estate_id.in_(scope.estate_ids))
    if subject is not None:
        query = query.where(AuditRecord.subject_type == subject[0], AuditRecord.subject_id == str(subject[1]))
    if before_id is not None:
        query = query.where(AuditRecord.id < before_id)
    return (await session.scalars(query)).all()

"""A pocket's transactions, filtered by date range and kind, paged by a ``seq`` cursor."""

# ruff: noqa: S608  -- the only text formatted into SQL here is the constant POSTING_COLUMNS

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.ledger.domain import PostingKind, StoredPosting
from cloud.ledger.posting import POSTING_COLUMNS, stored_posting

#: Largest page the API serves; a client wanting more follows the cursor.
PAGE_MAX = 200

_PAGE = text(
    f"SELECT {POSTING_COLUMNS} FROM ledger_postings "
    "WHERE (debit_account_id = :account OR credit_account_id = :account) AND seq > :after "
    "AND (CAST(:kind AS text) IS NULL OR kind = :kind) "
    "AND (CAST(:since AS timestamptz) IS NULL OR effective_at >= :since) "
    "AND (CAST(:until AS timestamptz) IS NULL OR effective_at < :until) "
    "ORDER BY seq LIMIT :limit"
)


async def account_postings(
    session: AsyncSession,
    account_id: int,
    *,
    after_seq: int,
    limit: int,
    kind: PostingKind | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Sequence[StoredPosting]:
    """Postings moving ``account_id`` after ``after_seq``, oldest first; dates filter ``effective_at``
    over [since, until)."""
    params = {
        "account": account_id,
        "after": after_seq,
        "kind": kind.value if kind else None,
        "since": since,
        "until": until,
        "limit": min(limit, PAGE_MAX),
    }
    return [stored_posting(row) for row in await session.execute(_PAGE, params)]

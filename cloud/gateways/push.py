"""The push channel's store: messages queued per gateway in cursor order, and the credit hook.

A message is a row in ``gateway_push_messages`` with the gateway's next cursor, taken from its
``gateway_push_cursors`` row under a row lock, so per gateway cursors commit in the order they
were handed out and a poll after cursor N can never miss a message that commits later with a
smaller cursor. Inserting the row notifies ``quantify_gateway_push`` (a trigger), which wakes
waiting long polls (:mod:`cloud.gateways.wakeup`) at commit.
"""

from __future__ import annotations

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.journal import Pocket
from shared.sync.gateway_api import PushBatch
from shared.sync.messages import CreditChanged, PocketBalance, PushMessage, decode_push, encode_message

#: Most messages one poll answer carries; the gateway polls again at once with the new cursor.
PUSH_BATCH_MAX = 500

_NEXT_CURSOR = text("""
    INSERT INTO gateway_push_cursors AS c (gateway_id, last_cursor) VALUES (:gateway, 1)
    ON CONFLICT (gateway_id) DO UPDATE SET last_cursor = c.last_cursor + 1
    RETURNING last_cursor
""")
_INSERT = text(
    "INSERT INTO gateway_push_messages (gateway_id, cursor, message) VALUES (:gateway, :cursor, :message)"
)
_AFTER = text("""
    SELECT cursor, message FROM gateway_push_messages
    WHERE gateway_id = :gateway AND cursor > :after ORDER BY cursor LIMIT :limit
""")
# Every gateway enforcing a pocket's wallet (it reads a meter of the wallet's unit), with the
# pocket's balance and the gateway's posted watermark read in one snapshot.
_ENFORCERS = text("""
    SELECT DISTINCT m.gateway_id, w.id AS wallet_id, p.name AS pocket, a.balance_cents,
           COALESCE(s.head_seq, 0) AS posted_through_seq
    FROM pockets p
    JOIN wallets w ON w.id = p.wallet_id AND w.closed_at IS NULL
    JOIN ledger_accounts a ON a.id = p.account_id
    JOIN meters m ON m.unit_id = w.unit_id AND m.gateway_id IS NOT NULL
    LEFT JOIN gateway_sync_state s ON s.gateway_id = m.gateway_id
    WHERE p.id = :pocket
""")


async def enqueue(session: AsyncSession, gateway_id: int, message: PushMessage) -> int:
    """Queue ``message`` for the gateway in the caller's transaction; returns its cursor."""
    connection = await session.connection()
    cursor = (await connection.execute(_NEXT_CURSOR, {"gateway": gateway_id})).scalar_one()
    await connection.execute(
        _INSERT, {"gateway": gateway_id, "cursor": cursor, "message": encode_message(message)}
    )
    return int(cursor)


async def messages_after(session: AsyncSession, gateway_id: int, after: int) -> PushBatch:
    """The messages queued after cursor ``after`` (oldest first) and the cursor to pass next."""
    params = {"gateway": gateway_id, "after": after, "limit": PUSH_BATCH_MAX}
    rows = (await (await session.connection()).execute(_AFTER, params)).all()
    messages = [decode_push(bytes(row.message)) for row in rows]
    return PushBatch(messages=messages, cursor=rows[-1].cursor if rows else after)


async def pocket_balance_changed(session: AsyncSession, pocket_id: int) -> list[int]:
    """Push the pocket's new balance to every gateway enforcing its wallet; call after a top-up.

    Call it in the transaction that moved the money (after ``post``): the message commits with
    the posting, and the gateways wake at that commit. Returns the gateways told.
    """
    rows = (await (await session.connection()).execute(_ENFORCERS, {"pocket": pocket_id})).all()
    for row in rows:
        balance = PocketBalance(
            wallet_id=str(row.wallet_id),
            pocket=Pocket(row.pocket),
            balance_cents=row.balance_cents,
            posted_through_seq=row.posted_through_seq,
        )
        await enqueue(session, row.gateway_id, CreditChanged(balance=balance))
    return [row.gateway_id for row in rows]


def encoded_batch(batch: PushBatch) -> bytes:
    """JSON bytes of a poll answer."""
    return msgspec.json.encode(batch)

"""Journal intake: judge a batch against the stored head, store it whole or not at all, answer.

Runs in the caller's transaction, holding the gateway's ``gateway_sync_state`` row for its whole
length, so one gateway's batches are taken one at a time and the stored journal is always a
verified prefix of the gateway's. Everything an accepted batch causes (entries, facts, postings,
revenue-assurance findings, the new head) commits together; a refused batch stores nothing but,
for a broken chain, the alarm an admin needs to see.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.errors import ValidationFailed
from cloud.gateways.assurance import BatchCheck
from cloud.gateways.charges import post_charges
from cloud.gateways.config import GatewayContext, config_fingerprint, current_config
from cloud.gateways.facts import raise_cloud_alarm, sort_entries, store_entries, store_facts
from cloud.gateways.models import GatewaySyncState
from cloud.ledger.driver import fetch
from shared.journal import ChainHead, Entry, Pocket
from shared.sync import (
    AckStatus,
    BatchAck,
    BatchAssessment,
    JournalBatch,
    PocketBalance,
    assess_batch,
    overlap_seqs,
)
from shared.sync.gateway_api import GatewayConfigDocument

_LOCK_HEAD = text("SELECT head_seq, head_hash FROM gateway_sync_state WHERE gateway_id = :gateway FOR UPDATE")
_HASHES = text("""
    SELECT seq, hash FROM gateway_journal WHERE gateway_id = :gateway AND seq BETWEEN :first AND :last
""")
# Straight through the driver (cloud.ledger.driver.fetch): every batch sends them.
_MOVE_HEAD = (
    "UPDATE gateway_sync_state SET head_seq = %(seq)s, head_hash = %(hash)s WHERE gateway_id = %(gateway)s"
)
_BALANCES = """
    SELECT p.wallet_id, p.name, a.balance_cents FROM pockets p JOIN ledger_accounts a ON a.id = p.account_id
    WHERE p.wallet_id = ANY(CAST(%(wallets)s AS bigint[])) ORDER BY p.wallet_id, p.name
"""


async def ingest_batch(session: AsyncSession, context: GatewayContext, batch: JournalBatch) -> BatchAck:
    """Take one journal batch from the gateway in ``context`` and return the ack to send back."""
    if batch.gateway_id != str(context.gateway_id):
        raise ValidationFailed(
            f"journal batch: gateway_id {batch.gateway_id!r} is not the signing gateway {context.gateway_id}"
        )
    stored = await _lock_head(session, context.gateway_id)
    entries = batch.encoded_entries()
    stored_hashes = await _stored_hashes(session, context, overlap_seqs(entries, stored=stored))
    assessed: list[BatchAssessment] = []
    # The chain is verified (pure CPU) while PostgreSQL takes the config's fingerprint. The config
    # is built before storing: revenue assurance bills the batch's readings with its meters.
    fingerprint = await config_fingerprint(
        session,
        context,
        meanwhile=lambda: assessed.append(assess_batch(entries, stored=stored, stored_hashes=stored_hashes)),
    )
    config = await current_config(session, context, fingerprint=fingerprint)
    [assessment] = assessed
    if assessment.status is AckStatus.ACCEPTED:
        await _store(session, context, config, assessment.to_store, assessment.decoded)
        params = {"gateway": context.gateway_id, "seq": assessment.head.seq, "hash": assessment.head.hash}
        await fetch(session, _MOVE_HEAD, params)
    elif assessment.status is AckStatus.BROKEN_CHAIN:
        await raise_cloud_alarm(
            session, context.gateway_id, "broken_chain", f"journal batch refused: {assessment.detail}"
        )
    wallets = sorted({int(meter.wallet_id) for meter in config.meters if meter.wallet_id is not None})
    balances = await pocket_balances(session, wallets, posted_through_seq=assessment.head.seq)
    return assessment.ack(balances=balances, config_version=config.version)


async def _lock_head(session: AsyncSession, gateway_id: int) -> ChainHead:
    connection = await session.connection()
    row = (await connection.execute(_LOCK_HEAD, {"gateway": gateway_id})).one_or_none()
    if row is None:
        # Enrolment creates the row; this covers gateways enrolled before the row existed.
        await session.execute(insert(GatewaySyncState).values(gateway_id=gateway_id).on_conflict_do_nothing())
        row = (await connection.execute(_LOCK_HEAD, {"gateway": gateway_id})).one()
    return ChainHead(seq=row.head_seq, hash=row.head_hash)


async def _stored_hashes(session: AsyncSession, context: GatewayContext, seqs: range) -> dict[int, str]:
    if not seqs:
        return {}
    params = {"gateway": context.gateway_id, "first": seqs.start, "last": seqs.stop - 1}
    return {row.seq: row.hash for row in await (await session.connection()).execute(_HASHES, params)}


async def _store(
    session: AsyncSession,
    context: GatewayContext,
    config: GatewayConfigDocument,
    encoded: list[bytes],
    entries: list[Entry],
) -> None:
    await store_entries(session, context.gateway_id, encoded, entries)
    facts = sort_entries(entries)
    await store_facts(session, context.gateway_id, facts)
    # Revenue assurance re-derives the charges (pure CPU) while PostgreSQL inserts the postings.
    check = await BatchCheck.load(session, context, config, entries)
    await post_charges(session, context, facts.charges, meanwhile=check.run)
    await check.save(session)


async def pocket_balances(
    session: AsyncSession, wallet_ids: list[int], *, posted_through_seq: int
) -> list[PocketBalance]:
    """The ledger balance of every pocket of ``wallet_ids``, with this gateway's watermark.

    Read after the batch's postings in the same transaction, so every charge through
    ``posted_through_seq`` is in the balance and none after it.
    """
    if not wallet_ids:
        return []
    rows = await fetch(session, _BALANCES, {"wallets": wallet_ids})
    return [
        PocketBalance(
            wallet_id=str(wallet_id),
            pocket=Pocket(name),
            balance_cents=balance_cents,
            posted_through_seq=posted_through_seq,
        )
        for wallet_id, name, balance_cents in rows
    ]

"""End-to-end verification of the ledger: the hash chain, the zero sum, and every balance row.

Runs in one REPEATABLE READ, read-only transaction, so it checks one consistent state while
postings continue. Problems name the posting (seq and idempotency key) or the account at fault.
"""

# ruff: noqa: S608  -- the only text formatted into SQL here is the constant POSTING_COLUMNS

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from cloud.ledger.domain import GENESIS_HASH, canonical_bytes, chain_hash
from cloud.ledger.models import LedgerVerification
from cloud.ledger.posting import POSTING_COLUMNS, stored_posting

#: Postings read per round trip while walking the chain.
PAGE_POSTINGS = 5_000
#: Problems listed in full; past this the report says how many more there were.
PROBLEMS_MAX = 100

_PAGE = text(f"SELECT {POSTING_COLUMNS} FROM ledger_postings WHERE seq > :after ORDER BY seq LIMIT :limit")
_BALANCE_MISMATCHES = text(
    """
    SELECT account.id, account.code, account.balance_cents,
           COALESCE(credits.total, 0) - COALESCE(debits.total, 0) AS computed
    FROM ledger_accounts AS account
    LEFT JOIN (SELECT credit_account_id AS id, sum(amount_cents) AS total
               FROM ledger_postings GROUP BY credit_account_id) AS credits ON credits.id = account.id
    LEFT JOIN (SELECT debit_account_id AS id, sum(amount_cents) AS total
               FROM ledger_postings GROUP BY debit_account_id) AS debits ON debits.id = account.id
    WHERE account.balance_cents <> COALESCE(credits.total, 0) - COALESCE(debits.total, 0)
    ORDER BY account.id
    """
)


@dataclass(frozen=True, slots=True)
class Problem:
    """One failed check: which check, a sentence for an operator, and the posting or account."""

    check: str
    message: str
    seq: int | None = None
    account_id: int | None = None


@dataclass(slots=True)
class VerificationReport:
    """What ``ledger verify`` found; ``ok`` only if every check passed."""

    through_seq: int = 0
    postings_checked: int = 0
    head_hash: str = GENESIS_HASH.hex()
    accounts_checked: int = 0
    balance_total_cents: int = 0
    problems: list[Problem] = field(default_factory=list)
    problems_not_listed: int = 0

    @property
    def ok(self) -> bool:
        """True when the chain, the zero sum and every balance row check out."""
        return not self.problems and not self.problems_not_listed

    def add(self, problem: Problem) -> None:
        """Note a problem, listing at most :data:`PROBLEMS_MAX` of them."""
        if len(self.problems) < PROBLEMS_MAX:
            self.problems.append(problem)
        else:
            self.problems_not_listed += 1

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON-ready dict (``ok`` first)."""
        body = asdict(self)
        body["problems"] = [{k: v for k, v in asdict(p).items() if v is not None} for p in self.problems]
        return {"ok": self.ok, **body}


async def verify_ledger(engine: AsyncEngine) -> VerificationReport:
    """Verify the whole ledger in one consistent snapshot."""
    async with engine.connect() as pooled:
        connection = await pooled.execution_options(isolation_level="REPEATABLE READ")
        async with connection.begin():
            await connection.execute(text("SET TRANSACTION READ ONLY"))
            return await verify_on(connection)


async def verify_on(connection: AsyncConnection) -> VerificationReport:
    """Run every check on an open connection (its transaction defines the state checked)."""
    report = VerificationReport()
    await _walk_chain(connection, report)
    await _check_head(connection, report)
    await _check_balances(connection, report)
    return report


async def _walk_chain(connection: AsyncConnection, report: VerificationReport) -> None:
    previous_hash, expected_seq = GENESIS_HASH, 1
    while True:
        rows = (await connection.execute(_PAGE, {"after": expected_seq - 1, "limit": PAGE_POSTINGS})).all()
        if not rows:
            break
        for row in rows:
            posting = stored_posting(row)
            if posting.seq != expected_seq:
                report.add(
                    Problem(
                        "sequence", f"postings {expected_seq} to {posting.seq - 1} are missing", posting.seq
                    )
                )
            recomputed = chain_hash(previous_hash, posting)
            if recomputed != posting.hash:
                report.add(
                    Problem(
                        "chain",
                        _altered(posting.seq, posting.idempotency_key, canonical_bytes(posting)),
                        posting.seq,
                    )
                )
            # Continue from the stored hash, so one altered row is reported once, not for every later row.
            previous_hash, expected_seq = posting.hash, posting.seq + 1
            report.postings_checked += 1
    report.through_seq, report.head_hash = expected_seq - 1, previous_hash.hex()


def _altered(seq: int, key: str, content: bytes) -> str:
    return (
        f"posting {seq} ({key}): its hash does not match its content or its predecessor; the row was altered "
        f"after it was written (content now {content.decode()})"
    )


async def _check_head(connection: AsyncConnection, report: VerificationReport) -> None:
    head_seq, head_hash = (
        await connection.execute(text("SELECT seq, hash FROM ledger_chain_head WHERE id = 1"))
    ).one()
    if head_seq != report.through_seq or bytes(head_hash).hex() != report.head_hash:
        report.add(
            Problem(
                "head",
                f"the chain head says seq {head_seq} hash {bytes(head_hash).hex()[:16]}…, "
                f"but the last posting is seq {report.through_seq} hash {report.head_hash[:16]}…",
                head_seq,
            )
        )


async def _check_balances(connection: AsyncConnection, report: VerificationReport) -> None:
    total, count = (
        await connection.execute(
            text("SELECT COALESCE(sum(balance_cents), 0), count(*) FROM ledger_accounts")
        )
    ).one()
    report.balance_total_cents, report.accounts_checked = int(total), int(count)
    if total != 0:
        report.add(Problem("zero_sum", f"account balances sum to {total} cents, not 0"))
    for account_id, code, balance, computed in await connection.execute(_BALANCE_MISMATCHES):
        report.add(
            Problem(
                "balance",
                f"account {account_id} ({code}) has balance {balance} cents "
                f"but its postings sum to {computed}",
                account_id=account_id,
            )
        )


async def record_verification(session: AsyncSession, report: VerificationReport) -> None:
    """Store the report, one row per chain position: re-running on an unchanged ledger replaces it."""
    values = {
        "through_seq": report.through_seq,
        "ok": report.ok,
        "report": report.to_json(),
        "checked_at": datetime.now(UTC),
    }
    statement = insert(LedgerVerification).values(**values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["through_seq"],
            set_={
                "ok": statement.excluded.ok,
                "report": statement.excluded.report,
                "checked_at": statement.excluded.checked_at,
            },
        )
    )

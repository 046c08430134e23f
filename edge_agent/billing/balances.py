"""Cached wallet-pocket balances, kept by the design's formula.

``cached(pocket) = cloud balance as of our seq N − Σ our charges to that pocket with seq > N``.

Rewritten with an all-time total: ``Σ(seq > N) = total charged − Σ(seq ≤ N)``, so per pocket we
keep ``base = cloud balance + Σ(seq ≤ N)`` (fixed until the cloud reports again) and the running
``total`` of every charge sealed so far; then ``cached = base − total``. Charges sealed but not
yet committed are counted at once (they are in ``total``), which is what credit control needs, and
``Σ(seq ≤ N)`` only ever covers committed entries, because the cloud can only have posted what we
uploaded, and we upload only what is committed. Every charge's cents are also in ``charge_index``
(written with the charge entry), so a restart recomputes the same figures from the store.

A pocket the cloud has never reported has no cached balance at all (``None``), not a zero one:
credit control decides nothing from it (``shared.credit``), while its charges are counted from
the first, so the formula holds the moment the first report arrives. That a pocket is waiting is
journalled once (an ``awaiting_balance`` alarm), remembered in ``pocket_awaiting_balance``.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from edge_agent.store.journal import Transaction
from edge_agent.store.queries import charged_through
from edge_agent.store.statements import DELETE_POCKET_AWAITING, INSERT_POCKET_AWAITING
from shared.journal import Alarm, AlarmKind, Pocket

PocketKey = tuple[str, Pocket]


@dataclass(frozen=True, slots=True)
class CloudTerms:
    """What the cloud last said about a pocket: its balance and through which of our seqs."""

    balance_cents: int
    posted_through_seq: int


class PocketBalances:
    """The gateway's cached balance of every pocket its meters draw on."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self.total: dict[PocketKey, int] = {}
        self.base: dict[PocketKey, int] = {}
        self.awaiting_noted: set[PocketKey] = set()
        self.reload()

    def reload(self) -> None:
        """Recompute every pocket from the store (at start-up)."""
        self.total = {
            (wallet, Pocket(pocket)): int(total)
            for wallet, pocket, total in self.db.execute(
                "SELECT wallet_id, pocket, SUM(amount_cents) FROM charge_index GROUP BY wallet_id, pocket"
            ).fetchall()
        }
        self.base = {}
        for wallet, pocket, balance, through in self.db.execute(
            "SELECT wallet_id, pocket, cloud_balance_cents, posted_through_seq FROM pocket_balance"
        ).fetchall():
            self.set_cloud_terms((wallet, Pocket(pocket)), CloudTerms(int(balance), int(through)))
        self.awaiting_noted = {
            (wallet, Pocket(pocket))
            for wallet, pocket in self.db.execute("SELECT wallet_id, pocket FROM pocket_awaiting_balance")
        }

    def balance(self, key: PocketKey) -> int | None:
        """The cached balance in cents; ``None`` for a pocket the cloud has never reported."""
        base = self.base.get(key)
        return None if base is None else base - self.total.get(key, 0)

    def note_awaiting(self, txn: Transaction, key: PocketKey) -> None:
        """Journal, once per pocket, that its meters wait for a first balance before any switching."""
        if key in self.awaiting_noted or key in self.base:
            return
        wallet, pocket = key
        detail = (
            f"wallet {wallet}, {pocket} pocket: no balance from the cloud yet; its meters are read and "
            "charged, but credit control switches no relay for them until the first balance arrives"
        )
        entry = txn.append(Alarm(meter_id=None, kind=AlarmKind.AWAITING_BALANCE, detail=detail))
        txn.execute(INSERT_POCKET_AWAITING, (wallet, pocket.value, entry.seq))
        self.awaiting_noted.add(key)

    def charged(self, key: PocketKey, cents: int) -> None:
        """Count charges the moment they are sealed into a journal transaction."""
        self.total[key] = self.total.get(key, 0) + cents

    def set_cloud_terms(self, key: PocketKey, terms: CloudTerms) -> int:
        """Take the cloud's balance as of our seq N; returns the new cached balance."""
        through = charged_through(self.db, key[0], key[1].value, terms.posted_through_seq)
        self.base[key] = terms.balance_cents + through
        return self.base[key] - self.total.get(key, 0)

    def first_balance_arrived(self, txn: Transaction, key: PocketKey) -> None:
        """The pocket waits no longer (its notice row goes in the transaction applying the balance)."""
        if key in self.awaiting_noted:
            txn.execute(DELETE_POCKET_AWAITING, (key[0], key[1].value))
            self.awaiting_noted.discard(key)

"""Cached wallet-pocket balances, kept by the design's formula.

``cached(pocket) = cloud balance as of our seq N − Σ our charges to that pocket with seq > N``.

Rewritten with an all-time total: ``Σ(seq > N) = total charged − Σ(seq ≤ N)``, so per pocket we
keep ``base = cloud balance + Σ(seq ≤ N)`` (fixed until the cloud reports again) and the running
``total`` of every charge sealed so far; then ``cached = base − total``. Charges sealed but not
yet committed are counted at once (they are in ``total``), which is what credit control needs, and
``Σ(seq ≤ N)`` only ever covers committed entries, because the cloud can only have posted what we
uploaded, and we upload only what is committed. Every charge's cents are also in ``charge_index``
(written with the charge entry), so a restart recomputes the same figures from the store.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from edge_agent.store.statements import SUM_CHARGES_THROUGH
from shared.journal import Pocket

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

    def balance(self, key: PocketKey) -> int:
        """The cached balance in cents; a pocket the cloud never reported starts from zero."""
        return self.base.get(key, 0) - self.total.get(key, 0)

    def charged(self, key: PocketKey, cents: int) -> None:
        """Count charges the moment they are sealed into a journal transaction."""
        self.total[key] = self.total.get(key, 0) + cents

    def set_cloud_terms(self, key: PocketKey, terms: CloudTerms) -> int:
        """Take the cloud's balance as of our seq N; returns the new cached balance."""
        parameters = (key[0], key[1].value, terms.posted_through_seq)
        through = self.db.execute(SUM_CHARGES_THROUGH, parameters).fetchone()[0]
        self.base[key] = terms.balance_cents + int(through)
        return self.balance(key)

    def keys(self) -> set[PocketKey]:
        return set(self.base) | set(self.total)

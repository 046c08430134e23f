"""Balances the cloud reports (in acks and pushes) handed to billing, only when they change something.

``BillingService.apply_cloud_balance`` is the one way money reaches the gateway; it journals
``credit_applied`` and re-judges the pocket's relays. Every ack carries every pocket, and the
cloud's ``posted_through_seq`` moves with every batch it posts, so applying each report would add
an entry per pocket per sync, and those entries would be uploaded, acknowledged with a newer seq,
and applied again, for ever. What matters is the cached balance the report implies:

    cached = cloud balance − Σ our charges with seq > N
           = (cloud balance + Σ our charges with seq ≤ N) − Σ all our charges

The last term is the same for any report, so a report changes the cached balance exactly when its
**base**, ``cloud balance + Σ our charges with seq ≤ N``, differs from the base applied last. Only
then is it applied. A cloud that merely posted our charges leaves the base unchanged; a top-up, a
levy or an adjustment changes it by its amount. A report older than the one applied (an earlier
``posted_through_seq``: a push delivered late, or an ack that crossed a push) is skipped, so the
cached balance never steps back to older terms.

The pockets of one answer that change something are applied together, in one journal transaction
(``BillingService.apply_cloud_balances``): no reading is judged between two of them, against one
pocket's new balance and another's old one.
"""

from __future__ import annotations

import asyncio
import logging

from edge_agent.store.queries import charged_through
from edge_agent.sync.ports import SyncedGateway
from edge_agent.sync.store import applied_pocket_terms
from shared.sync import PocketBalance

log = logging.getLogger(__name__)

PocketId = tuple[str, str]


class BalanceApplier:
    """Applies cloud balances in arrival order, one at a time, when they move the cached balance."""

    def __init__(self, gateway: SyncedGateway) -> None:
        self.gateway = gateway
        self.applied_through: dict[PocketId, int] = {}
        self.applied_base: dict[PocketId, int] = {}
        for key, (balance, through) in applied_pocket_terms(gateway.reader).items():
            self.applied_through[key] = through
            self.applied_base[key] = balance + self._charged_through(key, through)
        self._lock = asyncio.Lock()

    async def apply(self, balance: PocketBalance) -> bool:
        """Apply one pocket's balance if it changes the cached balance; return whether it did."""
        return await self.apply_all([balance]) == 1

    async def apply_all(self, balances: list[PocketBalance]) -> int:
        """Apply every balance of an answer that changes something, together; return how many."""
        async with self._lock:
            changed = [
                (balance, base) for balance in balances if (base := self._changed_base(balance)) is not None
            ]
            if not changed:
                return 0
            cached = await self.gateway.billing.apply_cloud_balances(
                [(b.wallet_id, b.pocket, b.balance_cents, b.posted_through_seq) for b, _ in changed]
            )
            for balance, base in changed:
                key = (balance.wallet_id, balance.pocket.value)
                self.applied_through[key], self.applied_base[key] = balance.posted_through_seq, base
                log.info("pocket %s/%s: cloud balance %d cents as of seq %d; cached balance now %d cents",
                         *key, balance.balance_cents, balance.posted_through_seq,
                         cached[(balance.wallet_id, balance.pocket)])  # fmt: skip
        return len(changed)

    def _changed_base(self, balance: PocketBalance) -> int | None:
        """The report's base if applying it changes the cached balance, else ``None``."""
        key = (balance.wallet_id, balance.pocket.value)
        through = balance.posted_through_seq
        if through < self.applied_through.get(key, 0):
            log.info("pocket %s/%s: skipped a balance as of seq %d, older than seq %d already applied",
                     *key, through, self.applied_through[key])  # fmt: skip
            return None
        base = balance.balance_cents + self._charged_through(key, through)
        return None if self.applied_base.get(key) == base else base

    def _charged_through(self, key: PocketId, through: int) -> int:
        # Charges up to N are committed (the cloud only posts what we uploaded, and we upload only
        # what is committed), so the read-only connection sees all of them.
        return charged_through(self.gateway.reader, *key, through)

"""What a caller may see: every query in the cloud's services takes an explicit :class:`Scope`.

The API builds the scope from the signed-in user's roles (a platform admin sees everything, an
estate admin their estates, a tenant their wallets). Services filter by it, and an object outside
the scope is reported as not found, so a caller cannot probe for other estates' objects.
"""

from __future__ import annotations

from dataclasses import dataclass

from cloud.errors import NotFound


@dataclass(frozen=True, slots=True)
class Scope:
    """Estates and wallets a caller may see; ``None`` means no restriction on that level."""

    estate_ids: frozenset[int] | None = None
    wallet_ids: frozenset[int] | None = None

    @classmethod
    def everything(cls) -> Scope:
        """No restriction: the platform operator, jobs and commands."""
        return cls()

    @classmethod
    def estates(cls, *estate_ids: int) -> Scope:
        """Everything within these estates (estate admins, managing agents)."""
        return cls(estate_ids=frozenset(estate_ids))

    @classmethod
    def wallets(cls, estate_ids: frozenset[int], wallet_ids: frozenset[int]) -> Scope:
        """Only these wallets, in these estates (tenants, owners, family members)."""
        return cls(estate_ids=estate_ids, wallet_ids=wallet_ids)

    def allows_estate(self, estate_id: int) -> bool:
        """Whether objects of this estate (other than wallets) are visible."""
        return self.estate_ids is None or estate_id in self.estate_ids

    def allows_wallet(self, estate_id: int, wallet_id: int) -> bool:
        """Whether this wallet (and its pockets and postings) is visible."""
        return self.allows_estate(estate_id) and (self.wallet_ids is None or wallet_id in self.wallet_ids)

    def require_estate(self, estate_id: int, what: str) -> None:
        """Raise :class:`NotFound` naming ``what`` unless the estate is in scope."""
        if not self.allows_estate(estate_id):
            raise NotFound(f"{what} not found")

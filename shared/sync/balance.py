"""The balance a gateway enforces between syncs: the one formula, as a pure function."""

from __future__ import annotations

from collections.abc import Iterable

from shared.journal import Charge, Entry
from shared.sync.messages import PocketBalance


def cached_balance_cents(cloud: PocketBalance, journal: Iterable[Entry]) -> int:
    """``edge balance(pocket) = cloud balance(pocket) as of edge seq N − Σ edge charges(pocket), seq > N``.

    ``cloud`` is the latest balance the cloud reported for the pocket (N is its
    ``posted_through_seq``); ``journal`` is any run of this gateway's entries that includes every
    charge after N (entries of other kinds, pockets or wallets, and charges the cloud already
    posted, are ignored, so passing the whole journal is correct, only slower). Days offline
    change nothing: the charges simply accumulate after N.
    """
    unposted = sum(
        entry.body.amount_cents
        for entry in journal
        if isinstance(entry.body, Charge)
        and entry.seq > cloud.posted_through_seq
        and entry.body.wallet_id == cloud.wallet_id
        and entry.body.pocket == cloud.pocket
    )
    return cloud.balance_cents - unposted

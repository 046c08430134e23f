"""Wallets and pockets: the prepaid money a tenant holds, one ledger account per pocket."""

"""The double-entry ledger of record: accounts, append-only hash-chained postings, periods, verification."""

"""The service of record: ledger, wallets, estates, API, workers."""

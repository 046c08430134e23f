"""The gateway's local store: SQLite in WAL mode, the append-only journal and the agent's state.

The journal is the outbox: an entry is committed (``synchronous=FULL``) before anything acts on
it, and the state the agent keeps beside it (meter registers, cached balances, relay states, the
sync watermark) is written in the same transaction as the entries that explain it.
"""

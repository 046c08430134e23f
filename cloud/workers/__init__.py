"""Background jobs on dramatiq: Redis or RabbitMQ in production, the in-process broker otherwise.

No money state depends on a job running: every job re-derives its result from the ledger and can
be run again at any time with the same outcome.
"""

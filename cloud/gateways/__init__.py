"""Gateways: enrolment and keys, signed requests, journal intake, config documents, the push channel.

The cloud side of the sync protocol in ``shared/sync`` and ``docs/journal.md``. Services take an
``AsyncSession`` inside the caller's transaction; ``controllers.gateway_router()`` serves them to
gateways, ``cli.register`` adds ``quantify-cloud gateway …``.
"""

"""The gateway side of sync: signed journal upload, balances and config back, the push channel.

``docs/sync.md`` describes the behaviour; ``shared.sync`` holds the protocol both sides share.
Modules: :mod:`keys` (the Ed25519 key file), :mod:`transport` (signed requests, refusals as
errors), :mod:`uploader` (the journal as outbox), :mod:`credit` (balances to billing),
:mod:`config_sync` (pull and apply config), :mod:`push` (the long poll), :mod:`client` (the loops),
:mod:`store` (the sync client's tables). Enrolment is the installer's: ``provisioning/enrol.py``.
"""

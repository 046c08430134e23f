"""Pulling and applying the cloud's configuration document when its version moves ahead.

An ack or a push names the gateway's current config version; when it is newer than the version
applied, the document is pulled (``GET CONFIG_PATH``), checked whole by the agent (profiles,
tariffs, policies: ``edge_agent.config.document``) and applied atomically: the ``config_applied``
entry (version and ``config_digest``), the stored document and ``sync_state.config_version`` commit
in one transaction, and only then does the agent switch its meters and billing over. A document
that fails its checks is not applied; a gateway-wide alarm says why (once per version) and the agent
runs on the configuration it had.
"""

from __future__ import annotations

import asyncio
import logging

import msgspec

from edge_agent.errors import ConfigError
from edge_agent.sync.errors import CloudProtocolError
from edge_agent.sync.ports import SyncedGateway
from edge_agent.sync.store import RECORD_CONFIG_VERSION, UPSERT_CONFIG_DOCUMENT, applied_config_version
from edge_agent.sync.transport import CloudTransport
from shared.journal import Alarm, AlarmKind, ConfigApplied
from shared.journal.bodies import MAX_DETAIL_CHARS
from shared.sync.gateway_api import CONFIG_PATH, GatewayConfigDocument, config_digest

log = logging.getLogger(__name__)

_DECODER = msgspec.json.Decoder(GatewayConfigDocument)


class ConfigSync:
    """Keeps the gateway on the cloud's latest config version; one pull at a time."""

    def __init__(self, gateway: SyncedGateway, transport: CloudTransport) -> None:
        self.gateway = gateway
        self.transport = transport
        self.version = applied_config_version(gateway.reader)
        self._refused_version: int | None = None
        self._first_pull_done = False
        self._lock = asyncio.Lock()

    async def first_pull(self) -> None:
        """Pull the config once if none was ever applied: a gateway with an empty journal (no meters
        yet) has no ack to learn the version from, and the cloud pushes notices only for changes."""
        if self.version > 0 or self._first_pull_done:
            return
        async with self._lock:
            if self.version == 0 and not self._first_pull_done:
                await self._pull_and_apply()
                self._first_pull_done = True

    async def follow(self, version: int) -> bool:
        """Pull and apply the config if ``version`` is newer than the one applied; return whether applied."""
        if version <= self.version or version == self._refused_version:
            return False
        async with self._lock:
            if version <= self.version:
                return False  # another notice pulled it while we waited
            return await self._pull_and_apply()

    async def _pull_and_apply(self) -> bool:
        body = await self.transport.request("GET", CONFIG_PATH)
        try:
            document = _DECODER.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            raise CloudProtocolError(f"config document: {error}") from None
        if document.version <= self.version:
            return False
        try:
            merged = self.gateway.check_document(document)
        except ConfigError as error:
            await self._refuse(document.version, str(error))
            return False
        digest = config_digest(document)
        with self.gateway.journal.transaction(self.gateway.clock()) as txn:
            entry = txn.append(ConfigApplied(version=document.version, digest=digest))
            txn.execute(UPSERT_CONFIG_DOCUMENT, (document.version, digest, body, entry.seq))
            txn.execute(RECORD_CONFIG_VERSION, (document.version,))
        await txn.committed()
        self.version = document.version
        await self.gateway.use_config(merged)
        log.info("config version %d applied (digest %s): %d meters", document.version, digest,
                 len(merged.config.meters))  # fmt: skip
        return True

    async def _refuse(self, version: int, why: str) -> None:
        detail = f"cloud config version {version} not applied: {why}"[:MAX_DETAIL_CHARS]
        log.error("%s", detail)
        self._refused_version = version
        with self.gateway.journal.transaction(self.gateway.clock()) as txn:
            txn.append(Alarm(meter_id=None, kind=AlarmKind.CONFIG_REFUSED, detail=detail))
        await txn.committed()

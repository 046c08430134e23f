"""A small cloud peer for the gateway's sync client, following the contract in ``shared.sync`` exactly.

It verifies every signature with the real ``signing_payload`` and the enrolled Ed25519 key, judges
batches with ``assess_batch`` and answers with ``assessment.ack``, serves a config document and a
push queue with a long poll. Faults are switches on :class:`PeerState`: refuse with a reason, answer
503, store a batch but lose the ack, forget the stored journal after seq N (a restore from backup).
Served by uvicorn on a loopback port, so the agent talks to it over real HTTP.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import msgspec
import uvicorn
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from shared.journal import GENESIS, ChainHead, Charge, Pocket, decode_entry
from shared.sync import (
    HEADER_GATEWAY_ID,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    PocketBalance,
    PushMessage,
    SyncError,
    assess_batch,
    decode_batch,
    decode_signature,
    encode_message,
    overlap_seqs,
    parse_timestamp_header,
    signing_payload,
    within_clock_skew,
)
from shared.sync.gateway_api import (
    CONFIG_PATH,
    ENROL_PATH,
    JOURNAL_PATH,
    PUSH_PATH,
    EnrolRequest,
    EnrolResponse,
    GatewayConfigDocument,
    GatewayRefusal,
    PushBatch,
    RefusalReason,
)
from tests.support.services import free_port

Scope = dict[str, Any]


@dataclass
class PeerState:
    """What the peer holds and how it misbehaves; tests read and flip these directly."""

    document: GatewayConfigDocument
    enrolment_codes: set[str] = field(default_factory=set)
    keys: dict[str, Ed25519PublicKey] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)
    entries: list[bytes] = field(default_factory=list)
    balances: list[PocketBalance] = field(default_factory=list)
    credited: dict[tuple[str, str], int] | None = None
    """When set, the peer keeps a ledger: each pocket's money in, minus every charge it stored, as
    of its head (what the real cloud does); ``balances`` is then computed, not fixed."""
    push: list[tuple[int, PushMessage]] = field(default_factory=list)
    push_hold_s: float = 1.0
    refuse_with: RefusalReason | None = None
    unavailable: bool = False
    lose_next_ack: bool = False
    batches: list[tuple[int, int, str]] = field(default_factory=list)
    """(first seq, last seq, status) of every batch judged."""
    config_pulls: int = 0
    push_polls: list[int] = field(default_factory=list)
    _pushed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def head(self) -> ChainHead:
        return decode_entry(self.entries[-1]).head if self.entries else GENESIS

    def queue_push(self, message: PushMessage) -> int:
        cursor = (self.push[-1][0] if self.push else 0) + 1
        self.push.append((cursor, message))
        self._pushed.set()
        return cursor

    def current_balances(self) -> list[PocketBalance]:
        if self.credited is None:
            return list(self.balances)
        charged: dict[tuple[str, str], int] = {}
        for entry in map(decode_entry, self.entries):
            if isinstance(entry.body, Charge):
                key = (entry.body.wallet_id, entry.body.pocket.value)
                charged[key] = charged.get(key, 0) + entry.body.amount_cents
        return [
            PocketBalance(wallet_id=wallet, pocket=Pocket(pocket), balance_cents=cents - charged.get((wallet, pocket), 0),
                          posted_through_seq=self.head.seq)
            for (wallet, pocket), cents in self.credited.items()
        ]  # fmt: skip

    def forget_after(self, seq: int) -> None:
        """The cloud restored a backup: it holds our journal only through ``seq``."""
        del self.entries[seq:]


class Peer:
    """The ASGI app: four routes of the gateway API."""

    def __init__(self, state: PeerState) -> None:
        self.state = state

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await _body(receive)
        status, answer = await self._route(scope, body)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    async def _route(self, scope: Scope, body: bytes) -> tuple[int, bytes]:
        path, method = scope["path"], scope["method"]
        if self.state.unavailable:
            return 503, b'{"detail":"maintenance"}'
        if (method, path) == ("POST", ENROL_PATH):
            return self._enrol(body)
        gateway_id, refusal = self._verify(scope, body)
        if refusal is not None:
            return 401, msgspec.json.encode(refusal)
        if (method, path) == ("POST", JOURNAL_PATH):
            return self._journal(gateway_id, body)
        if (method, path) == ("GET", CONFIG_PATH):
            self.state.config_pulls += 1
            return 200, msgspec.json.encode(self.state.document)
        if (method, path) == ("GET", PUSH_PATH):
            return await self._push(scope)
        return 404, b'{"detail":"no such route"}'

    def _verify(self, scope: Scope, body: bytes) -> tuple[str, GatewayRefusal | None]:
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        gateway_id = headers.get(HEADER_GATEWAY_ID.lower(), "")
        if self.state.refuse_with is not None:
            return gateway_id, GatewayRefusal(reason=self.state.refuse_with, detail="refused by the test")
        key = self.state.keys.get(gateway_id)
        if gateway_id in self.state.revoked:
            return gateway_id, GatewayRefusal(reason=RefusalReason.REVOKED_GATEWAY, detail=gateway_id)
        if key is None:
            return gateway_id, GatewayRefusal(reason=RefusalReason.UNKNOWN_GATEWAY, detail=gateway_id)
        query = scope["query_string"].decode()
        path = scope["raw_path"].decode() if scope.get("raw_path") else scope["path"]
        path = path if "?" in path or not query else f"{path}?{query}"
        try:
            timestamp = headers[HEADER_TIMESTAMP.lower()]
            signature = decode_signature(headers[HEADER_SIGNATURE.lower()])
            payload = signing_payload(
                gateway_id=gateway_id, method=scope["method"], path=path, timestamp=timestamp, body=body
            )
            signed_at = parse_timestamp_header(timestamp)
        except (KeyError, SyncError) as error:
            return gateway_id, GatewayRefusal(reason=RefusalReason.MALFORMED, detail=str(error))
        if not within_clock_skew(signed_at, datetime.now(UTC)):
            return gateway_id, GatewayRefusal(reason=RefusalReason.STALE_TIMESTAMP, detail=timestamp)
        try:
            key.verify(signature, payload)
        except InvalidSignature:
            return gateway_id, GatewayRefusal(reason=RefusalReason.BAD_SIGNATURE, detail="signature")
        return gateway_id, None

    def _enrol(self, body: bytes) -> tuple[int, bytes]:
        request = msgspec.json.decode(body, type=EnrolRequest)
        if request.code not in self.state.enrolment_codes:
            refusal = GatewayRefusal(reason=RefusalReason.BAD_ENROLMENT_CODE, detail="unknown code")
            return 401, msgspec.json.encode(refusal)
        self.state.enrolment_codes.discard(request.code)
        raw = base64.b64decode(request.public_key)
        # Re-enrolment replaces the key: the old one no longer verifies.
        self.state.keys[self.state.document.gateway_id] = Ed25519PublicKey.from_public_bytes(raw)
        response = EnrolResponse(
            gateway_id=self.state.document.gateway_id,
            estate_id=self.state.document.estate_id,
            estate_name="Test Estate",
            config=self.state.document,
        )
        return 200, msgspec.json.encode(response)

    def _journal(self, gateway_id: str, body: bytes) -> tuple[int, bytes]:
        batch = decode_batch(body)
        assert batch.gateway_id == gateway_id
        entries = batch.encoded_entries()
        stored = self.state.head
        held = {
            seq: decode_entry(self.state.entries[seq - 1]).hash
            for seq in overlap_seqs(entries, stored=stored)
        }
        assessment = assess_batch(entries, stored=stored, stored_hashes=held)
        self.state.entries.extend(assessment.to_store)
        first = decode_entry(entries[0]).seq
        self.state.batches.append((first, first + len(entries) - 1, str(assessment.status)))
        if self.state.lose_next_ack:
            self.state.lose_next_ack = False
            return 502, b'{"detail":"ack lost on the way back"}'
        ack = assessment.ack(
            balances=self.state.current_balances(), config_version=self.state.document.version
        )
        return 200, encode_message(ack)

    async def _push(self, scope: Scope) -> tuple[int, bytes]:
        after = int(parse_qs(scope["query_string"].decode())["after"][0])
        self.state.push_polls.append(after)
        deadline = asyncio.get_running_loop().time() + self.state.push_hold_s
        while not (waiting := [(c, m) for c, m in self.state.push if c > after]):
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            self.state._pushed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.state._pushed.wait(), remaining)
        cursor = waiting[-1][0] if waiting else after
        return 200, msgspec.json.encode(PushBatch(messages=[m for _, m in waiting], cursor=cursor))


async def _body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


@contextlib.asynccontextmanager
async def serving(state: PeerState, port: int | None = None) -> AsyncIterator[str]:
    """Serve the peer on a loopback port for the block; yields its base URL."""
    port = port or free_port()
    config = uvicorn.Config(
        Peer(state),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=1,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task

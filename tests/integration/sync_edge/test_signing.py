"""Signed requests: the key file, signatures the peer verifies, and one error per refusal reason."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from edge_agent.sync.errors import (
    REFUSALS,
    BadSignature,
    CloudProtocolError,
    CloudRefused,
    CloudUnavailable,
    RevokedGateway,
    SyncClientError,
)
from edge_agent.sync.keys import generate_key, load_key
from edge_agent.sync.transport import CloudTransport
from shared.sync.gateway_api import CONFIG_PATH, PUSH_PATH, RefusalReason
from tests.integration.sync_edge.helpers import GATEWAY_ID, document, enrolled_key
from tests.integration.sync_edge.peer import PeerState, serving
from tests.support.services import free_port

pytestmark = pytest.mark.anyio


def test_the_key_file_is_private_and_never_shown(tmp_path: Path) -> None:
    key = generate_key(tmp_path / "keys" / "gateway.key")
    assert stat.S_IMODE((tmp_path / "keys" / "gateway.key").stat().st_mode) == 0o600
    assert "PRIVATE" not in repr(key) and len(key.public_key_b64) == 44
    assert load_key(tmp_path / "keys" / "gateway.key").public_key_b64 == key.public_key_b64
    os.chmod(tmp_path / "keys" / "gateway.key", 0o644)
    with pytest.raises(SyncClientError, match="readable by others"):
        load_key(tmp_path / "keys" / "gateway.key")


async def test_signed_requests_verify_and_each_refusal_has_its_own_error(tmp_path: Path) -> None:
    state = PeerState(document=document(1, []), push_hold_s=0)
    enrolled_key(tmp_path, state)
    async with serving(state) as url:
        transport = CloudTransport(url, GATEWAY_ID, load_key(tmp_path / "gateway.key"))
        try:
            assert b'"version":1' in await transport.request("GET", CONFIG_PATH)
            # The query string is part of what is signed, exactly as sent.
            assert b'"cursor":7' in await transport.request("GET", f"{PUSH_PATH}?after=7")
            for reason, error_class in REFUSALS.items():
                state.refuse_with = reason
                with pytest.raises(error_class) as raised:
                    await transport.request("GET", CONFIG_PATH)
                assert raised.value.reason is reason and reason.value in str(raised.value)
            state.refuse_with = None
            state.revoked.add(GATEWAY_ID)
            with pytest.raises(RevokedGateway, match="enrol it again"):
                await transport.request("GET", CONFIG_PATH)
            state.unavailable = True
            with pytest.raises(CloudUnavailable, match="503"):
                await transport.request("GET", CONFIG_PATH)
            state.unavailable = False
            state.revoked.clear()
            with pytest.raises(CloudProtocolError, match="404"):
                await transport.request("GET", "/gateway/v1/nothing")
        finally:
            await transport.aclose()
        other = generate_key(tmp_path / "other.key")  # a key the cloud never enrolled
        transport = CloudTransport(url, GATEWAY_ID, other)
        try:
            with pytest.raises(BadSignature, match="key_file"):
                await transport.request("GET", CONFIG_PATH)
        finally:
            await transport.aclose()
    transport = CloudTransport(f"http://127.0.0.1:{free_port()}", GATEWAY_ID, other)
    try:
        with pytest.raises(CloudUnavailable, match="cannot reach"):
            await transport.request("GET", CONFIG_PATH)
    finally:
        await transport.aclose()
    assert all(issubclass(cls, CloudRefused) for cls in REFUSALS.values())
    assert set(REFUSALS) == set(RefusalReason)


async def test_an_answer_larger_than_the_bound_is_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = PeerState(document=document(1, []))
    enrolled_key(tmp_path, state)
    monkeypatch.setattr("edge_agent.sync.transport.MAX_RESPONSE_BYTES", 64)
    async with serving(state) as url:
        transport = CloudTransport(url, GATEWAY_ID, load_key(tmp_path / "gateway.key"))
        try:
            with pytest.raises(CloudProtocolError, match="larger than 64 bytes"):
                await transport.request("GET", CONFIG_PATH)
        finally:
            await transport.aclose()

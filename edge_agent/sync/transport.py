"""Signed HTTP requests to the cloud's gateway API, and the cloud's answers mapped to errors.

Every request carries the gateway id, the time and an Ed25519 signature over
``shared.sync.signing_payload`` (method, path with query exactly as sent, timestamp, body digest).
The signing time is always the real UTC clock, never the agent's billing clock: the cloud checks
it against its own clock within ``CLOCK_SKEW_WINDOW_S``.

Answers: 200 → the body; 401 → the refusal reason's own :class:`CloudRefused` subclass; a
connection failure, a timeout, 429 or 5xx → :class:`CloudUnavailable` (retry later); anything
else → :class:`CloudProtocolError`. Every request has a timeout.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import msgspec

from edge_agent.sync.errors import (
    REFUSALS,
    CloudProtocolError,
    CloudUnavailable,
    MalformedRequest,
)
from edge_agent.sync.keys import GatewayKey
from shared.sync import (
    HEADER_GATEWAY_ID,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    encode_signature,
    signing_payload,
    timestamp_header,
)
from shared.sync.gateway_api import GatewayRefusal

if TYPE_CHECKING:
    import httpx

# httpx is imported when a transport is made, not here: a gateway without a ``[cloud]`` section
# never talks to the cloud, and httpx with its dependencies costs several MiB of the agent's memory.

#: Connect and write timeouts; reads get the per-request timeout (long polls need more).
CONNECT_TIMEOUT_S = 10.0
#: Read timeout of an ordinary request (a journal batch of 1000 entries, a config document).
REQUEST_TIMEOUT_S = 30.0
#: Largest answer the agent reads; a config document or ack is far smaller.
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
_UNAVAILABLE_STATUSES = {408, 425, 429, 500, 502, 503, 504}
_REFUSAL_DECODER = msgspec.json.Decoder(GatewayRefusal)


def real_utc_now() -> datetime:
    return datetime.now(UTC)


class CloudTransport:
    """One HTTP connection pool to the cloud, signing every request with the gateway's key."""

    def __init__(
        self,
        base_url: str,
        gateway_id: str,
        key: GatewayKey,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        signing_clock: Callable[[], datetime] = real_utc_now,
    ) -> None:
        import httpx

        self.base_url = base_url.rstrip("/")
        self.gateway_id = gateway_id
        self._key = key
        self._signing_clock = signing_clock
        self._client = httpx.AsyncClient(
            transport=transport, timeout=httpx.Timeout(REQUEST_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
        )
        # httpx logs every request at INFO: a line per batch and per long poll, all day. The sync
        # client logs what a person needs (failures, recoveries, balances, config) itself.
        logging.getLogger("httpx").setLevel(logging.WARNING)

    async def aclose(self) -> None:
        """Close the connection pool (idempotent)."""
        await self._client.aclose()

    async def request(
        self, method: str, path: str, *, body: bytes = b"", read_timeout_s: float = REQUEST_TIMEOUT_S
    ) -> bytes:
        """Send one signed request; return the body of a 200 answer, or raise the matching error."""
        import httpx

        url = httpx.URL(self.base_url + path)
        sent_path = url.raw_path.decode("ascii")
        timestamp = timestamp_header(self._signing_clock())
        payload = signing_payload(
            gateway_id=self.gateway_id, method=method, path=sent_path, timestamp=timestamp, body=body
        )
        headers = {
            HEADER_GATEWAY_ID: self.gateway_id,
            HEADER_TIMESTAMP: timestamp,
            HEADER_SIGNATURE: encode_signature(self._key.sign(payload)),
            "Content-Type": "application/json",
        }
        timeout = httpx.Timeout(REQUEST_TIMEOUT_S, connect=CONNECT_TIMEOUT_S, read=read_timeout_s)
        request = self._client.build_request(method, url, content=body, headers=headers, timeout=timeout)
        try:
            status, content = await self._send(request, f"{method} {sent_path}")
        except httpx.TimeoutException as error:
            why = type(error).__name__
            raise CloudUnavailable(f"{method} {sent_path}: no answer in time ({why})") from None
        except httpx.HTTPError as error:
            raise CloudUnavailable(f"{method} {sent_path}: cannot reach {self.base_url}: {error}") from None
        return answer_body(f"{method} {sent_path}", status, content)

    async def _send(self, request: httpx.Request, what: str) -> tuple[int, bytes]:
        """Send and read the answer, refusing to hold more than :data:`MAX_RESPONSE_BYTES` of it."""
        response = await self._client.send(request, stream=True)
        try:
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise CloudProtocolError(f"{what}: answer larger than {MAX_RESPONSE_BYTES} bytes")
                chunks.append(chunk)
        finally:
            await response.aclose()
        return response.status_code, b"".join(chunks)


def answer_body(what: str, status: int, content: bytes) -> bytes:
    """The body of a 200 answer; any other status as the error the module docstring lists."""
    if status == 200:
        return content
    if status == 401:
        raise refusal_error(content)
    text = content[:300].decode("utf-8", "replace")
    if status in _UNAVAILABLE_STATUSES:
        raise CloudUnavailable(f"{what}: cloud answered {status}: {text}")
    raise CloudProtocolError(f"{what}: cloud answered {status}: {text}")


def refusal_error(body: bytes) -> Exception:
    """The distinct error for a 401 body (a ``GatewayRefusal``); a body that is not one is malformed."""
    try:
        refusal = _REFUSAL_DECODER.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return MalformedRequest(f"401 without a GatewayRefusal body: {body[:200]!r}")
    return REFUSALS[refusal.reason](refusal.detail)

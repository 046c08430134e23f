"""An NB-IoT meter for the tests: OSCORE contexts shared with the gateway, frames, an aiocoap client.

Frames follow Adeunis' NB-IoT layout (``../shared/refdata/README.md``, "NB-IoT and LwM2M"): an
8-byte BCD IMEI, a signal-quality byte, a 4-byte frame counter, then the Pulse's own frame
(``tests/fixtures/vendor_vectors/adeunis_pulse.json``).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import aiocoap
from aiocoap.oscore import FilesystemSecurityContext

ADEUNIS_EPOCH_UNIX_S = 1_356_998_400  # 2013-01-01T00:00:00Z


@dataclass(frozen=True)
class Keys:
    """The folders of one meter's OSCORE context: the gateway's copy and the meter's own."""

    gateway_dir: Path
    meter_dir: Path


def make_keys(root: Path, name: str, *, recipient_id: bytes) -> Keys:
    """A fresh OSCORE context (master secret and salt) for one meter, as commissioning writes it.

    The gateway receives with the meter's sender id (``recipient_id`` here) and sends with ``00``.
    """
    secret, salt = secrets.token_bytes(16), secrets.token_bytes(8)
    keys = Keys(root / f"{name}-gateway", root / f"{name}-meter")
    for folder, sender, recipient in (
        (keys.gateway_dir, b"\x00", recipient_id),
        (keys.meter_dir, recipient_id, b"\x00"),
    ):
        folder.mkdir(parents=True)
        (folder / "settings.json").write_text(json.dumps({
            "sender-id_hex": sender.hex(), "recipient-id_hex": recipient.hex(),
            "secret_hex": secret.hex(), "salt_hex": salt.hex(),
        }))  # fmt: skip
    return keys


def nbiot_frame(imei: str, counter: int, inner: bytes) -> bytes:
    """Adeunis' NB-IoT header (BCD IMEI, signal quality 3, frame counter) before a Pulse frame."""
    return bytes.fromhex(imei.rjust(16, "0")) + b"\x03" + counter.to_bytes(4, "big") + inner


def counters_frame(count_a: int, count_b: int = 0) -> bytes:
    """A 0x46 frame: both inputs' pulse counters, no timestamp (status 0x20: configuration done)."""
    return bytes([0x46, 0x20]) + count_a.to_bytes(4, "big") + count_b.to_bytes(4, "big")


def history_frame(counts_newest_first: list[int], at: datetime) -> bytes:
    """A 0x5A frame for input A: the newest counter, then the differences back in time, timestamped."""
    frame = bytes([0x5A, 0x24]) + counts_newest_first[0].to_bytes(4, "big")
    for newer, older in pairwise(counts_newest_first):
        frame += (newer - older).to_bytes(2, "big")
    return frame + (int(at.timestamp()) - ADEUNIS_EPOCH_UNIX_S).to_bytes(4, "big")


class Meter:
    """The meter's CoAP client: POSTs frames, OSCORE-protected with its own context (or none)."""

    def __init__(self, context: aiocoap.Context, uri: str) -> None:
        self.context = context
        self.uri = uri

    @classmethod
    async def connect(cls, port: int, path: str, keys: Keys | None) -> Meter:
        context = await aiocoap.Context.create_client_context()
        uri = f"coap://127.0.0.1:{port}/{path}"
        if keys is not None:
            context.client_credentials[f"coap://127.0.0.1:{port}/*"] = FilesystemSecurityContext(
                str(keys.meter_dir)
            )
        return cls(context, uri)

    async def post(self, frame: bytes) -> aiocoap.Message:
        request = aiocoap.Message(code=aiocoap.POST, uri=self.uri, payload=frame)
        return await self.context.request(request).response

    async def close(self) -> None:
        await self.context.shutdown()

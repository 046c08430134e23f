"""ChirpStack v4 events as its MQTT integration publishes them, for the tests' publisher.

Each event starts from ChirpStack's own example payload (``../shared/refdata/chirpstack/event_*.json``)
and changes only what a test needs: the device, the application, the frame, its counter and time.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from typing import Any

from tests.support.paths import REFDATA

CHIRPSTACK = REFDATA / "chirpstack"


def example(kind: str) -> dict[str, Any]:
    """ChirpStack's example payload of one event type."""
    data: dict[str, Any] = json.loads((CHIRPSTACK / f"event_{kind}.json").read_text())
    return data


def event_topic(application_id: str, dev_eui: str, kind: str) -> str:
    return f"application/{application_id}/device/{dev_eui}/event/{kind}"


def _for_device(kind: str, application_id: str, dev_eui: str) -> dict[str, Any]:
    event = example(kind)
    event["deviceInfo"]["devEui"] = dev_eui
    event["deviceInfo"]["applicationId"] = application_id
    return event


def up_event(
    application_id: str,
    dev_eui: str,
    payload: bytes,
    *,
    f_cnt: int,
    f_port: int = 85,
    at: datetime,
    deduplication_id: str | None = None,
) -> bytes:
    """An ``up`` event; like an older server, it leaves out ``fCnt`` when it is 0."""
    event = _for_device("up", application_id, dev_eui)
    event["deduplicationId"] = deduplication_id or str(uuid.uuid4())
    event["time"] = at.isoformat()
    event["fPort"] = f_port
    event["data"] = base64.b64encode(payload).decode()
    if f_cnt:
        event["fCnt"] = f_cnt
    return json.dumps(event).encode()


def ack_event(application_id: str, dev_eui: str, queue_item_id: str, *, acknowledged: bool = True) -> bytes:
    event = _for_device("ack", application_id, dev_eui)
    event["deduplicationId"] = str(uuid.uuid4())
    event["queueItemId"] = queue_item_id
    if acknowledged:
        event["acknowledged"] = True
    else:
        del event["acknowledged"]  # the JSON marshaler omits a false bool
    return json.dumps(event).encode()


def join_event(application_id: str, dev_eui: str) -> bytes:
    return json.dumps(_for_device("join", application_id, dev_eui)).encode()


def txack_event(application_id: str, dev_eui: str, queue_item_id: str) -> bytes:
    event = _for_device("txack", application_id, dev_eui)
    event["queueItemId"] = queue_item_id
    return json.dumps(event).encode()


def ws52x_frame(energy_wh: int, *, relay_on: bool | None = True, voltage_dv: int = 2301) -> bytes:
    """A Milesight WS52x periodic report: voltage (03 74), energy (06 83) and socket state (08 70)."""
    frame = bytes([0x03, 0x74]) + voltage_dv.to_bytes(2, "little")
    frame += bytes([0x06, 0x83]) + energy_wh.to_bytes(4, "little")
    if relay_on is not None:
        frame += bytes([0x08, 0x70, 1 if relay_on else 0])
    return frame

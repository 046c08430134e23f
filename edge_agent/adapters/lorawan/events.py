"""ChirpStack v4 MQTT integration events (JSON marshaler), parsed into what the bridge uses.

Topics are ``{prefix}/{application_id}/device/{dev_eui}/event/{type}``; the payloads are those in
``../shared/refdata/chirpstack/*.json``. Older servers omit zero-valued fields (no ``fCnt`` when it
is 0, no ``fPort`` on a MAC-only frame, no ``data`` when empty), so every such field defaults to
its zero value. Pure: no I/O, no clock.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime

import msgspec

EVENT_TYPES = ("up", "ack", "txack", "status", "join")


class DeviceInfo(msgspec.Struct, rename="camel"):
    dev_eui: str
    application_id: str = ""


class RxInfo(msgspec.Struct, rename="camel"):
    """How one LoRa gateway heard the uplink."""

    rssi: int = 0
    snr: float = 0.0


class UpEvent(msgspec.Struct, rename="camel"):
    """An uplink: ``deviceInfo``, ``deduplicationId``, ``time``, ``fCnt``, ``fPort``, ``data``, ``rxInfo``."""

    device_info: DeviceInfo
    deduplication_id: str = ""
    time: str = ""
    f_cnt: int = 0
    f_port: int = 0
    data: str = ""
    rx_info: list[RxInfo] = msgspec.field(default_factory=list)


def best_signal(event: UpEvent) -> tuple[int, float] | None:
    """RSSI (dBm) and SNR (dB) at the gateway that heard the uplink best, if any says."""
    if not event.rx_info:
        return None
    best = max(event.rx_info, key=lambda rx: rx.rssi)
    return best.rssi, best.snr


class AckEvent(msgspec.Struct, rename="camel"):
    """The device acknowledged (or not) a confirmed downlink, identified by ``queueItemId``."""

    device_info: DeviceInfo
    queue_item_id: str = ""
    acknowledged: bool = False
    f_cnt_down: int = 0


class TxAckEvent(msgspec.Struct, rename="camel"):
    """A gateway accepted a downlink for transmission: not proof the device received it."""

    device_info: DeviceInfo
    queue_item_id: str = ""
    f_cnt_down: int = 0


class StatusEvent(msgspec.Struct, rename="camel"):
    """The device's answer to a status request: link margin and battery."""

    device_info: DeviceInfo
    margin: int = 0
    battery_level: float = 0.0
    battery_level_unavailable: bool = False
    external_power_source: bool = False


class JoinEvent(msgspec.Struct, rename="camel"):
    """The device (re)joined: its frame counters restart from 0."""

    device_info: DeviceInfo
    dev_addr: str = ""


Event = UpEvent | AckEvent | TxAckEvent | StatusEvent | JoinEvent
_DECODERS: dict[str, msgspec.json.Decoder[Event]] = {
    "up": msgspec.json.Decoder(UpEvent),
    "ack": msgspec.json.Decoder(AckEvent),
    "txack": msgspec.json.Decoder(TxAckEvent),
    "status": msgspec.json.Decoder(StatusEvent),
    "join": msgspec.json.Decoder(JoinEvent),
}


class EventError(ValueError):
    """An event that is not ChirpStack's format; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class Topic:
    """Where an event was published: its application, device and event type."""

    application_id: str
    dev_eui: str
    event: str


def parse_topic(topic: str, prefix: str) -> Topic | None:
    """The parts of an event topic, or ``None`` for a topic that is not one."""
    parts = topic.split("/")
    if len(parts) != 6 or parts[0] != prefix or parts[2] != "device" or parts[4] != "event":
        return None
    return Topic(application_id=parts[1], dev_eui=parts[3].lower(), event=parts[5])


def parse_event(topic: Topic, payload: bytes) -> Event:
    """The event's payload, checked against its topic; :class:`EventError` when it does not fit."""
    decoder = _DECODERS.get(topic.event)
    if decoder is None:
        raise EventError(f"event type {topic.event!r} is not one the bridge handles")
    try:
        event = decoder.decode(payload)
    except msgspec.ValidationError as error:
        raise EventError(f"{topic.event} event: {error}") from None
    except msgspec.DecodeError as error:
        raise EventError(f"{topic.event} event is not JSON: {error}") from None
    if event.device_info.dev_eui.lower() != topic.dev_eui:
        raise EventError(
            f"{topic.event} event: deviceInfo.devEui {event.device_info.dev_eui!r} differs from the "
            f"topic's {topic.dev_eui!r}"
        )
    return event


def payload_bytes(event: UpEvent) -> bytes:
    """The uplink's application payload (``data`` is base64)."""
    try:
        return base64.b64decode(event.data, validate=True)
    except (binascii.Error, ValueError) as error:
        raise EventError(f"up event: data is not base64: {error}") from None


def network_time(event: UpEvent) -> datetime | None:
    """When the network received the uplink (RFC 3339, nanoseconds truncated), if it says."""
    if not event.time:
        return None
    try:
        at = datetime.fromisoformat(_microseconds(event.time))
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def _microseconds(text: str) -> str:
    """RFC 3339 allows nanoseconds; Python parses at most microseconds."""
    head, dot, rest = text.partition(".")
    if not dot:
        return text
    digits = len(rest) - len(rest.lstrip("0123456789"))
    return f"{head}.{rest[: min(digits, 6)]}{rest[digits:]}"


def downlink_command(dev_eui: str, f_port: int, payload: bytes, command_id: uuid.UUID) -> bytes:
    """The JSON ChirpStack takes on ``.../device/{dev_eui}/command/down``: a confirmed downlink
    whose ``id`` comes back as the ``ack`` event's ``queueItemId``."""
    return msgspec.json.encode(
        {
            "id": str(command_id),
            "devEui": dev_eui,
            "confirmed": True,
            "fPort": f_port,
            "data": base64.b64encode(payload).decode("ascii"),
        }
    )

"""The LoRaWAN bridge: ChirpStack's MQTT events in, readings and alarms out, relay downlinks back.

One MQTT session to the broker ChirpStack's integration publishes to, re-established with capped
backoff. Events are parsed and filtered for repeats in arrival order (same ``deduplicationId``, or
a frame counter the device already used), then handed to one worker per meter through a bounded
queue, so each meter's frames are billed in order while different meters' frames share the
journal's group commits. The worker decodes the frame with the meter's firmware profile and
delivers it to the sink (:mod:`edge_agent.adapters.frames.feed`); a sink failure (the journal
could not commit) ends :meth:`LoRaWANBridge.run` with that error, as a failed commit must.
"""

from __future__ import annotations

import asyncio
import logging
import select
import ssl
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiomqtt

from edge_agent.adapters.frames import (
    Backoff,
    CounterWindow,
    RadioError,
    RadioMeter,
    RadioSettingsError,
    RadioSink,
    RecentIds,
    decode,
    deliver,
    report_decode_error,
)
from edge_agent.adapters.frames.meters import build_radio_meter
from edge_agent.adapters.lorawan.events import (
    EVENT_TYPES,
    AckEvent,
    EventError,
    JoinEvent,
    StatusEvent,
    Topic,
    UpEvent,
    best_signal,
    downlink_command,
    network_time,
    parse_event,
    parse_topic,
    payload_bytes,
)
from edge_agent.adapters.lorawan.relay import LoRaWANRelay
from edge_agent.adapters.lorawan.settings import LoRaWANDevice, LoRaWANSettings
from firmware_profiles import Downlink, Profile, Transport
from shared.journal import ReadingSource

log = logging.getLogger(__name__)

#: Frames waiting for one meter's worker; a meter sends one every few minutes, so this is only
#: reached when the journal falls behind, and then it holds the broker's messages back.
PER_METER_QUEUE = 256
#: Meters billed at once. Enough for the journal's group commits to gather many readings per fsync,
#: few enough that one turn of the event loop stays short and the broker's socket is read promptly.
BILLING_CONCURRENCY = 32
_MQTT_TIMEOUT_S = 10.0
_KEEPALIVE_S = 30
#: Packets read from the socket per event handled, at most (see :func:`_drain_socket`).
_DRAIN_PACKETS_MAX = 256


@dataclass(slots=True)
class BridgeHealth:
    """Counters for the local page and the logs."""

    connected: bool = False
    connections: int = 0
    last_error: str | None = None
    uplinks: int = 0
    duplicates: int = 0
    decode_errors: int = 0
    unknown_devices: int = 0
    malformed_events: int = 0
    downlinks: int = 0
    #: When each meter was last heard from (configured meters only, so bounded).
    last_heard: dict[str, datetime] = field(default_factory=dict)
    #: The battery level each meter last reported in a status event, in percent.
    battery_pct: dict[str, float] = field(default_factory=dict)
    #: RSSI (dBm) and SNR (dB) of each meter's last uplink, at the gateway that heard it best.
    signal: dict[str, tuple[int, float]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Frame:
    """One uplink on its way to a meter's worker: the event (or why it is unreadable), when it came."""

    event: UpEvent | None
    problem: str | None
    received_at: datetime


class LoRaWANBridge:
    """ChirpStack (MQTT) ⇄ the gateway's billing pipeline, for the configured LoRaWAN meters."""

    def __init__(
        self,
        settings: LoRaWANSettings,
        profiles: Mapping[str, Profile],
        sink: RadioSink,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        dedup_ids: int = 4096,
    ) -> None:
        self.settings = settings
        self.sink = sink
        self.clock = clock
        self.health = BridgeHealth()
        self.meters = _radio_meters(settings, profiles)
        self._by_eui: dict[str, LoRaWANDevice] = {device.dev_eui: device for device in settings.devices}
        self._by_meter: dict[str, LoRaWANDevice] = {device.meter_id: device for device in settings.devices}
        self.relay = LoRaWANRelay(
            self.meters,
            self._publish_downlink,
            ack_timeout_s=settings.ack_timeout_s,
            state_timeout_s=settings.state_timeout_s,
        )
        self._recent_ids = RecentIds(dedup_ids)
        self._counters = CounterWindow(devices=max(1, len(self._by_eui)))
        self._applications: dict[str, str] = {}
        self._queues: dict[str, asyncio.Queue[_Frame]] = {}
        self._billing_slots = asyncio.Semaphore(BILLING_CONCURRENCY)
        self._tls = _tls_context(settings)
        self._client: aiomqtt.Client | None = None
        self._connected = asyncio.Event()

    async def run(self) -> None:
        """Stay connected and process events until cancelled (or the sink fails)."""
        self._queues = {eui: asyncio.Queue(PER_METER_QUEUE) for eui in self._by_eui}
        async with asyncio.TaskGroup() as group:
            for eui, queue in self._queues.items():
                group.create_task(self._worker(self._by_eui[eui], queue), name=f"lorawan {eui}")
            group.create_task(self._stay_connected(), name="lorawan mqtt")

    async def wait_connected(self, timeout_s: float) -> None:
        """Wait until subscribed to the broker (tests and start-up checks)."""
        async with asyncio.timeout(timeout_s):
            await self._connected.wait()

    async def _stay_connected(self) -> None:
        backoff = Backoff(first_s=0.5, max_s=self.settings.reconnect_max_s)
        while True:
            try:
                async with self._new_client() as client:
                    await client.subscribe(self._subscriptions(), timeout=_MQTT_TIMEOUT_S)
                    self._on_connected(client)
                    backoff.reset()
                    async for message in client.messages:
                        _drain_socket(client)
                        await self._dispatch(message)
            except aiomqtt.MqttError as error:
                self._on_disconnected(str(error))
            delay = backoff.next_delay_s()
            log.warning(
                "MQTT broker %s:%d: %s; reconnecting in %.1f s",
                self.settings.host,
                self.settings.port,
                self.health.last_error,
                delay,
            )
            await asyncio.sleep(delay)

    def _new_client(self) -> aiomqtt.Client:
        settings = self.settings
        return aiomqtt.Client(
            settings.host, settings.port, username=settings.username, password=settings.password,
            identifier=settings.client_id, clean_session=settings.clean_session, tls_context=self._tls,
            timeout=_MQTT_TIMEOUT_S, keepalive=_KEEPALIVE_S,
            max_queued_incoming_messages=settings.max_queued_events,
        )  # fmt: skip

    def _subscriptions(self) -> list[tuple[str, int]]:
        applications = self.settings.application_ids or ("+",)
        prefix = self.settings.topic_prefix
        return [(f"{prefix}/{app}/device/+/event/{kind}", 1) for app in applications for kind in EVENT_TYPES]

    def _on_connected(self, client: aiomqtt.Client) -> None:
        self._client = client
        self.health.connected = True
        self.health.connections += 1
        self._connected.set()
        log.info("MQTT broker %s:%d: subscribed to ChirpStack events", self.settings.host, self.settings.port)

    def _on_disconnected(self, problem: str) -> None:
        self._client = None
        self._connected.clear()
        self.health.connected = False
        self.health.last_error = problem

    async def _dispatch(self, message: aiomqtt.Message) -> None:
        """Parse one event, drop repeats, route it; in arrival order, so no reordering per device."""
        topic = parse_topic(message.topic.value, self.settings.topic_prefix)
        device = None if topic is None else self._by_eui.get(topic.dev_eui)
        if topic is None or device is None:
            self.health.unknown_devices += 1
            return
        received_at = self.clock()
        payload = message.payload if isinstance(message.payload, bytes) else str(message.payload).encode()
        try:
            event = parse_event(topic, payload)
        except EventError as error:
            self.health.malformed_events += 1
            if topic.event == "up":  # a frame of the meter's that we cannot read: journalled
                await self._queues[device.dev_eui].put(_Frame(None, str(error), received_at))
            else:
                log.warning("meter %s: %s", device.meter_id, error)
            return
        self._applications[device.dev_eui] = topic.application_id
        self.health.last_heard[device.meter_id] = received_at
        await self._route(device, topic, event, received_at)

    async def _route(self, device: LoRaWANDevice, topic: Topic, event: object, received_at: datetime) -> None:
        if isinstance(event, UpEvent):
            if self._is_repeat(device, event):
                self.health.duplicates += 1
                return
            signal = best_signal(event)
            if signal is not None:
                self.health.signal[device.meter_id] = signal
            await self._queues[device.dev_eui].put(_Frame(event, None, received_at))
        elif isinstance(event, AckEvent):
            self.relay.on_ack(device.meter_id, event.queue_item_id, event.acknowledged)
        elif isinstance(event, JoinEvent):
            self._counters.forget(device.dev_eui)  # a rejoined device counts from 0 again
        elif isinstance(event, StatusEvent) and not event.battery_level_unavailable:
            self.health.battery_pct[device.meter_id] = event.battery_level
        else:
            log.debug("meter %s: %s event", device.meter_id, topic.event)

    def _is_repeat(self, device: LoRaWANDevice, event: UpEvent) -> bool:
        if event.deduplication_id and self._recent_ids.seen_before(event.deduplication_id):
            return True
        return self._counters.seen_before(device.dev_eui, event.f_cnt)

    async def _worker(self, device: LoRaWANDevice, queue: asyncio.Queue[_Frame]) -> None:
        meter = self.meters[device.meter_id]
        while True:
            frame = await queue.get()
            async with self._billing_slots:
                await self._handle(meter, frame)

    async def _handle(self, meter: RadioMeter, frame: _Frame) -> None:
        """Decode one uplink and deliver it; an unreadable one is a ``decode_error`` alarm only."""
        event, problem, payload = frame.event, frame.problem, b""
        if event is not None:
            try:
                payload = payload_bytes(event)
            except EventError as error:
                problem = str(error)
        if event is None or problem is not None:
            self.health.decode_errors += 1
            await report_decode_error(self.sink, meter.meter_id, b"", problem or "", ReadingSource.LORAWAN)
            return
        if event.f_port == 0:
            return  # fPort 0 carries only MAC commands, nothing from the meter's application
        self.health.uplinks += 1
        decoded = decode(meter, event.f_port, payload)
        if isinstance(decoded, str):
            self.health.decode_errors += 1
            await report_decode_error(self.sink, meter.meter_id, payload, decoded, ReadingSource.LORAWAN)
            return
        if decoded.relay_closed is not None:
            await self.relay.reports.report(meter.meter_id, decoded.relay_closed)
        read_at = network_time(event) or frame.received_at
        await deliver(self.sink, meter.meter_id, decoded, read_at, ReadingSource.LORAWAN)

    async def _publish_downlink(self, meter_id: str, downlink: Downlink, command_id: uuid.UUID) -> None:
        """Publish a confirmed downlink on ``.../device/{dev_eui}/command/down``."""
        device = self._by_meter[meter_id]
        application = self._application_for(device)
        assert downlink.f_port is not None, "a LoRaWAN relay profile always names its fPort"
        topic = f"{self.settings.topic_prefix}/{application}/device/{device.dev_eui}/command/down"
        body = downlink_command(device.dev_eui, downlink.f_port, downlink.payload, command_id)
        client = self._client
        if client is None:
            raise RadioError(f"meter {meter_id}: not connected to the MQTT broker; relay downlink not sent")
        try:
            await client.publish(topic, body, qos=1, timeout=_MQTT_TIMEOUT_S)
        except aiomqtt.MqttError as error:
            raise RadioError(f"meter {meter_id}: relay downlink not published: {error}") from None
        self.health.downlinks += 1
        log.info("meter %s: relay downlink %s published to %s", meter_id, command_id, topic)

    def _application_for(self, device: LoRaWANDevice) -> str:
        if device.application_id is not None:
            return device.application_id
        learned = self._applications.get(device.dev_eui)
        if learned is not None:
            return learned
        if len(self.settings.application_ids) == 1:
            return self.settings.application_ids[0]
        raise RadioError(
            f"meter {device.meter_id}: its ChirpStack application is not known yet (no uplink seen and no "
            "application_id configured); downlink not sent"
        )


def _radio_meters(settings: LoRaWANSettings, profiles: Mapping[str, Profile]) -> dict[str, RadioMeter]:
    return {
        device.meter_id: build_radio_meter(
            f"lorawan.devices[{index}]",
            device.meter_id,
            profiles.get(device.meter_id),
            Transport.LORAWAN,
            pulse_weight=device.pulse_weight,
            pulse_input=device.pulse_input,
            history_period_s=device.history_period_s,
        )
        for index, device in enumerate(settings.devices)
    }


def _tls_context(settings: LoRaWANSettings) -> ssl.SSLContext | None:
    """The TLS context, built once so a missing or bad file fails at start, naming the key."""
    if not settings.tls:
        return None
    try:
        context = ssl.create_default_context(
            cafile=None if settings.ca_file is None else str(settings.ca_file)
        )
    except (OSError, ssl.SSLError) as error:
        raise RadioSettingsError(f"at lorawan.ca_file: cannot load {settings.ca_file}: {error}") from None
    if settings.cert_file is not None and settings.key_file is not None:
        try:
            context.load_cert_chain(str(settings.cert_file), str(settings.key_file))
        except (OSError, ssl.SSLError) as error:
            raise RadioSettingsError(
                f"at lorawan.cert_file: cannot load {settings.cert_file}: {error}"
            ) from None
    return context


def _drain_socket(client: aiomqtt.Client) -> None:
    """Read the events already on the socket, so a burst waits in our bounded queue, not the broker's.

    aiomqtt has paho read one packet per turn of the event loop, and a turn is long while billing
    a burst. The broker keeps at most 20 QoS 1 events in flight to us (Mosquitto's
    ``max_inflight_messages``) and queues the rest, up to ``max_queued_messages`` (1000 by
    default), then drops them. So, before each event is handled, this reads what is on the socket
    with paho's public ``loop_read`` into aiomqtt's queue (``max_queued_events``, bounded): at most
    ``_DRAIN_PACKETS_MAX`` packets, never waiting. (Writing the acks here too would be faster, but
    races aiomqtt's own writer registration when the connection closes.) The paho client is
    reached through aiomqtt's ``_client``; without it, this does nothing.
    """
    paho = getattr(client, "_client", None)
    sock = None if paho is None else paho.socket()
    if paho is None or sock is None:
        return
    try:
        for _ in range(_DRAIN_PACKETS_MAX):
            if not select.select([sock], [], [], 0)[0]:
                break
            paho.loop_read()
    except (OSError, ValueError) as error:
        raise aiomqtt.MqttError(f"reading from the broker failed: {error}") from None

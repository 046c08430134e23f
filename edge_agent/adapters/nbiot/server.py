"""The NB-IoT bridge: a CoAP server on the gateway that authenticated meters POST their frames to.

Each meter holds its own OSCORE security context (RFC 8613), shared with the gateway at
commissioning; the gateway keeps one aiocoap ``FilesystemSecurityContext`` folder per meter, so the
replay window and sequence numbers survive restarts, as OSCORE requires. A request that is not
OSCORE-protected, or protected with a context the gateway does not know, is refused with 4.01; a
replayed one too. The authenticated context names the meter: its frames must carry the meter's
IMEI, or they are refused (4.03) and journalled as a tamper alarm. A frame that does not decode is
a ``decode_error`` alarm (4.00). A good frame is billed through the sink, and the response
(2.04 Changed) carries the meter's pending relay command, if there is one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiocoap
import aiocoap.resource
from aiocoap.credentials import CredentialsMap
from aiocoap.oscore import FilesystemSecurityContext
from aiocoap.oscore_sitewrapper import OscoreSiteWrapper

from edge_agent.adapters.frames import (
    CounterWindow,
    RadioError,
    RadioMeter,
    RadioSettingsError,
    RadioSink,
    decode,
    deliver,
    report_decode_error,
)
from edge_agent.adapters.frames.meters import build_radio_meter
from edge_agent.adapters.nbiot.relay import NbiotRelay
from edge_agent.adapters.nbiot.settings import NbiotDevice, NbiotSettings
from firmware_profiles import Profile, Transport
from shared.journal import AlarmKind, ReadingSource

log = logging.getLogger(__name__)

#: NB-IoT meters speak CoAP over UDP. aiocoap's default also opens CoAP over TCP, TLS and
#: WebSockets listeners, which no meter uses: each is one more open port on the gateway.
SERVER_TRANSPORTS = ["udp6"]
#: Longer than any frame these meters send; a larger POST is refused before decoding.
MAX_FRAME_BYTES = 512


@dataclass(slots=True)
class NbiotHealth:
    """Counters for the local page and the logs."""

    uplinks: int = 0
    duplicates: int = 0
    decode_errors: int = 0
    refused: int = 0
    #: When each meter last called in (configured meters only, so bounded).
    last_heard: dict[str, datetime] = field(default_factory=dict)


class NbiotBridge:
    """CoAP + OSCORE server ⇄ the gateway's billing pipeline, for the configured NB-IoT meters."""

    def __init__(
        self,
        settings: NbiotSettings,
        profiles: Mapping[str, Profile],
        sink: RadioSink,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.sink = sink
        self.clock = clock
        self.health = NbiotHealth()
        self.meters: dict[str, RadioMeter] = {
            device.meter_id: build_radio_meter(
                f"nbiot.devices[{index}]",
                device.meter_id,
                profiles.get(device.meter_id),
                Transport.NBIOT,
                pulse_weight=device.pulse_weight,
                pulse_input=device.pulse_input,
                history_period_s=device.history_period_s,
            )
            for index, device in enumerate(settings.devices)
        }
        self.relay = NbiotRelay(
            self.meters,
            command_timeout_s=settings.command_timeout_s,
            state_timeout_s=settings.state_timeout_s,
        )
        self._counters = CounterWindow(devices=max(1, len(settings.devices)))
        self._locks = {device.meter_id: asyncio.Lock() for device in settings.devices}
        self._contexts: list[tuple[FilesystemSecurityContext, NbiotDevice]] = []
        self._server: aiocoap.Context | None = None

    async def start(self) -> None:
        """Load every meter's OSCORE context and start serving; errors name the meter and its folder."""
        credentials = CredentialsMap()
        for device in self.settings.devices:
            context = _load_context(device)
            self._contexts.append((context, device))
            credentials[f":{device.meter_id}"] = context
        site = aiocoap.resource.Site()
        site.add_resource((self.settings.path,), _UplinkResource(self))
        try:
            self._server = await aiocoap.Context.create_server_context(
                OscoreSiteWrapper(site, credentials),
                bind=(self.settings.host, self.settings.port),
                server_credentials=credentials,
                transports=SERVER_TRANSPORTS,
            )
        except OSError as error:
            self._release_contexts()
            raise RadioError(
                f"NB-IoT CoAP server cannot listen on {self.settings.host}:{self.settings.port}: {error}"
            ) from None
        log.info(
            "NB-IoT CoAP server on %s:%d/%s for %d meters",
            self.settings.host,
            self.settings.port,
            self.settings.path,
            len(self._contexts),
        )

    async def close(self) -> None:
        """Stop serving and release the security contexts' locks."""
        if self._server is not None:
            await self._server.shutdown()
            self._server = None
        self._release_contexts()

    def device_for(self, security_context: object) -> NbiotDevice | None:
        """The device a request's OSCORE context belongs to (contexts are compared by identity)."""
        return next((device for context, device in self._contexts if context is security_context), None)

    async def handle(self, device: NbiotDevice, payload: bytes) -> aiocoap.Message:
        """One authenticated POST: decode, check the IMEI, drop repeats, bill, answer with commands."""
        meter = self.meters[device.meter_id]
        async with self._locks[device.meter_id]:
            received_at = self.clock()
            self.health.last_heard[meter.meter_id] = received_at
            decoded = decode(meter, None, payload)
            if isinstance(decoded, str):
                self.health.decode_errors += 1
                await report_decode_error(self.sink, meter.meter_id, payload, decoded, ReadingSource.NBIOT)
                return aiocoap.Message(code=aiocoap.BAD_REQUEST, payload=decoded.encode()[:200])
            if not _same_imei(decoded.device_id, device.imei):
                return await self._wrong_imei(device, decoded.device_id)
            if decoded.frame_counter is not None and self._counters.seen_before(
                device.imei, decoded.frame_counter
            ):
                self.health.duplicates += 1  # the meter resent a frame whose answer it lost
            else:
                self.health.uplinks += 1
                if decoded.relay_closed is not None:
                    await self.relay.reports.report(meter.meter_id, decoded.relay_closed)
                await deliver(self.sink, meter.meter_id, decoded, received_at, ReadingSource.NBIOT)
                # A relay command this frame caused starts as a task of the relay controller; let it
                # queue now, so it rides on this response rather than the meter's next call, hours away.
                await asyncio.sleep(0)
            return aiocoap.Message(code=aiocoap.CHANGED, payload=self.relay.take_command(meter.meter_id))

    async def _wrong_imei(self, device: NbiotDevice, imei: str | None) -> aiocoap.Message:
        self.health.refused += 1
        detail = (
            f"NB-IoT frame carries IMEI {imei} but was sent with the security context of meter "
            f"{device.meter_id} (IMEI {device.imei}); refused"
        )
        await self.sink.on_alarm(device.meter_id, AlarmKind.TAMPER, detail)
        log.warning("meter %s: %s", device.meter_id, detail)
        return aiocoap.Message(code=aiocoap.FORBIDDEN, payload=b"IMEI does not match the security context")

    def _release_contexts(self) -> None:
        for context, _ in self._contexts:
            if context.lockfile is not None:
                context.lockfile.release()
        self._contexts.clear()


class _UplinkResource(aiocoap.resource.Resource):  # type: ignore[misc]  # aiocoap is untyped
    """``POST /{path}``: one frame from an OSCORE-authenticated meter."""

    def __init__(self, bridge: NbiotBridge) -> None:
        super().__init__()
        self.bridge = bridge

    async def render_post(self, request: aiocoap.Message) -> aiocoap.Message:
        device = self.bridge.device_for(getattr(request.remote, "security_context", None))
        if device is None:
            # Not OSCORE-protected: the wrapper hands such requests through, and we refuse them.
            self.bridge.health.refused += 1
            return aiocoap.Message(code=aiocoap.UNAUTHORIZED, payload=b"OSCORE required")
        if len(request.payload) > MAX_FRAME_BYTES:
            return aiocoap.Message(code=aiocoap.REQUEST_ENTITY_TOO_LARGE)
        return await self.bridge.handle(device, request.payload)


def _load_context(device: NbiotDevice) -> FilesystemSecurityContext:
    def refusal(problem: object) -> RadioSettingsError:
        return RadioSettingsError(
            f"meter {device.meter_id} (IMEI {device.imei}): expected its OSCORE security context in "
            f"{str(device.oscore_dir)!r} (the folder named by its IMEI in [nbiot] oscore_dir, holding "
            f"settings.json with sender-id, recipient-id, secret): {problem}"
        )

    # Checked first: aiocoap's context, failing half-built on a missing folder, errs again when collected.
    if not (device.oscore_dir / "settings.json").is_file():
        raise refusal("there is no settings.json")
    try:
        return FilesystemSecurityContext(str(device.oscore_dir))
    except (OSError, ValueError) as error:
        raise refusal(error) from None


def _same_imei(framed: str | None, configured: str) -> bool:
    """A 15-digit IMEI travels as 8 BCD bytes, so its frames carry it with a leading 0."""
    return framed is not None and framed.rjust(16, "0") == configured.rjust(16, "0")

"""``python -m demo.radio``: simulated LoRaWAN and NB-IoT water meters sending their frames.

Example (two LoRaWAN meters through ChirpStack's MQTT integration, one NB-IoT meter over CoAP)::

    python -m demo.radio --mqtt 127.0.0.1:1883 --application APP-ID --every 10 \\
        --lorawan a1b2c3d4e5f60001:35 --lorawan a1b2c3d4e5f60002:20 \\
        --coap 127.0.0.1:5683 --nbiot 356938035643809:12:keys/meter

Each LoRaWAN meter (``DEV_EUI:LITRES_PER_HOUR``) publishes an Axioma Qalcosonic W1 frame in a
ChirpStack v4 ``up`` event to ``application/APP-ID/device/DEV_EUI/event/up``; the NB-IoT meter
(``IMEI:LITRES_PER_HOUR:OSCORE_DIR``) POSTs an Adeunis Pulse NB-IoT frame (one pulse a litre) to
``coap://HOST:PORT/uplink``, protected with the OSCORE context in its folder. Every ``--every``
real seconds, until SIGTERM or Ctrl-C. ``--speedup`` and ``--epoch`` run the meters on a gateway
agent's fast clock, as ``python -m demo.simulator`` does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import aiocoap
import aiomqtt
from aiocoap.oscore import FilesystemSecurityContext

from demo.radio.frames import W1_F_PORT, adeunis_pulse_nbiot_frame, chirpstack_up_event, qalcosonic_w1_frame
from demo.radio.water import WaterMeter, whole_hour
from demo.simulator.model import LoadShape, SimClock

log = logging.getLogger("demo.radio")
#: Registers start here, so the 23 hours of history in a first W1 frame are never below zero.
START_VOLUME_L = Decimal(50_000)
#: A failed send is retried on the next round; this long at most for one send.
SEND_TIMEOUT_S = 10


@dataclass(frozen=True, slots=True)
class RadioMeter:
    """One simulated meter: its device id (DevEUI or IMEI), register, and CoAP client (NB-IoT)."""

    device: str
    water: WaterMeter
    coap: aiocoap.Context | None = None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m demo.radio", description=__doc__.splitlines()[0])
    parser.add_argument("--mqtt", metavar="HOST:PORT", help="the MQTT broker ChirpStack would publish to")
    parser.add_argument("--application", default="demo", help="the ChirpStack application id")
    parser.add_argument("--lorawan", action="append", default=[], metavar="DEV_EUI:LITRES_PER_HOUR")
    parser.add_argument("--coap", metavar="HOST:PORT", help="the gateway's CoAP server for NB-IoT meters")
    parser.add_argument("--nbiot", action="append", default=[], metavar="IMEI:LITRES_PER_HOUR:OSCORE_DIR")
    parser.add_argument("--every", type=float, default=10.0, help="real seconds between frames")
    parser.add_argument("--speedup", type=float, default=1.0, help="simulated seconds per real second")
    parser.add_argument("--epoch", type=float, metavar="UNIX_SECONDS", help="the fast clock's epoch")
    parser.add_argument("--tz", default="Africa/Johannesburg", help="time zone of the daily shape")
    return parser.parse_args(argv)


async def build(args: argparse.Namespace, clock: SimClock) -> tuple[list[RadioMeter], list[RadioMeter]]:
    """The LoRaWAN and the NB-IoT meters the arguments name."""
    shape = LoadShape.residential(ZoneInfo(args.tz))

    def water(flow: str) -> WaterMeter:
        return WaterMeter(Decimal(flow), shape, at=clock.now(), volume_l=START_VOLUME_L)

    lorawan = [RadioMeter(eui.lower(), water(flow)) for eui, flow in (m.split(":") for m in args.lorawan)]
    nbiot = []
    for imei, flow, folder in (m.split(":", 2) for m in args.nbiot):
        host, _, port = args.coap.rpartition(":")
        nbiot.append(RadioMeter(imei, water(flow), await coap_client(host, port, Path(folder))))
    return lorawan, nbiot


async def send_lorawan(
    args: argparse.Namespace, meters: list[RadioMeter], clock: SimClock, f_cnt: int
) -> None:
    """One round: every LoRaWAN meter's W1 frame, published as ChirpStack would (QoS 1)."""
    host, _, port = args.mqtt.rpartition(":")
    async with aiomqtt.Client(host, int(port), timeout=SEND_TIMEOUT_S) as broker:
        for meter in meters:
            now = clock.now()
            volumes = meter.water.hourly_volumes_l(whole_hour(now), 24)
            frame = qalcosonic_w1_frame(int(now.timestamp()), volumes)
            event = chirpstack_up_event(
                args.application, meter.device, frame, f_cnt=f_cnt, f_port=W1_F_PORT, at=now
            )
            topic = f"application/{args.application}/device/{meter.device}/event/up"
            await broker.publish(topic, event, qos=1)


async def send_nbiot(
    args: argparse.Namespace, meters: list[RadioMeter], clock: SimClock, counter: int
) -> None:
    """One round: every NB-IoT meter POSTs its counters, OSCORE-protected with its own context."""
    host, _, port = args.coap.rpartition(":")
    for meter in meters:
        assert meter.coap is not None
        frame = adeunis_pulse_nbiot_frame(meter.device, counter, meter.water.volume_l(clock.now()))
        request = aiocoap.Message(code=aiocoap.POST, uri=f"coap://{host}:{port}/uplink", payload=frame)
        answer = await asyncio.wait_for(meter.coap.request(request).response, SEND_TIMEOUT_S)
        if not answer.code.is_successful():
            log.warning("NB-IoT meter %s: the gateway answered %s", meter.device, answer.code)


async def coap_client(host: str, port: str, oscore_dir: Path) -> aiocoap.Context:
    """A meter's CoAP client, its requests to the gateway protected with the OSCORE context in
    ``oscore_dir`` (held, and its sequence numbers kept there, for the process' lifetime)."""
    context = await aiocoap.Context.create_client_context()
    context.client_credentials[f"coap://{host}:{port}/*"] = FilesystemSecurityContext(str(oscore_dir))
    return context


async def run(args: argparse.Namespace) -> None:
    """A round of frames every ``--every`` seconds until stopped; a failed round is logged, then retried."""
    clock = (
        SimClock(speedup=args.speedup)
        if args.epoch is None
        else SimClock.sharing_epoch(args.epoch, args.speedup)
    )
    lorawan, nbiot = await build(args, clock)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(
        f"radio: {len(lorawan)} LoRaWAN and {len(nbiot)} NB-IoT meters, a frame every {args.every:g} s",
        flush=True,
    )
    frame_counter = 1
    while not stop.is_set():
        for send, meters, where in ((send_lorawan, lorawan, args.mqtt), (send_nbiot, nbiot, args.coap)):
            if not meters:
                continue
            try:
                await send(args, meters, clock, frame_counter)
            except (aiomqtt.MqttError, OSError, TimeoutError, aiocoap.error.Error) as error:
                log.warning("sending to %s failed (%s); retrying next round", where, error)
        frame_counter += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=args.every)
    for meter in nbiot:
        assert meter.coap is not None
        await meter.coap.shutdown()
    print("radio: stopped", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    if (args.lorawan and not args.mqtt) or (args.nbiot and not args.coap):
        print("radio: LoRaWAN meters need --mqtt and NB-IoT meters --coap", file=sys.stderr)
        return 2
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())

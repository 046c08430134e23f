"""``python -m demo.simulator``: simulated meters on a Modbus bus, over TCP or a serial port.

Example (three meters on a TCP bus, a day in 24 minutes, household load shape)::

    python -m demo.simulator --tcp 127.0.0.1:5020 --speedup 60 --shape residential \\
        --meter 1:eastron-sdm120:950 --meter 2:eastron-sdm630:4200 --meter 3:hiking-dds238-2:1500

It prints one ``simulator: serving ...`` line once it listens, then runs until SIGTERM, Ctrl-C or
``--duration``. With ``--commands`` it reads commands from stdin, one a line:
``load UNIT WATTS``, ``behave UNIT normal|silent|corrupt|exception [CODE]``, ``show UNIT``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, tzinfo
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from demo.simulator.devices import Behaviour
from demo.simulator.model import LoadShape, SimClock, SimulatedMeter
from demo.simulator.server import MeterSimulator
from firmware_profiles import FirmwareProfileError, packaged_registry


@dataclass(frozen=True, slots=True)
class MeterArg:
    """One ``--meter UNIT:MODEL[:WATTS]`` option."""

    unit: int
    model_id: str
    load_w: Decimal


def meter_arg(text: str) -> MeterArg:
    """Parse ``UNIT:MODEL[:WATTS]`` for argparse, with a message naming what is wrong."""
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise argparse.ArgumentTypeError(f"expected UNIT:MODEL[:WATTS], got {text!r}")
    try:
        unit = int(parts[0])
        load_w = Decimal(parts[2]) if len(parts) == 3 else Decimal(0)
    except (ValueError, InvalidOperation):
        raise argparse.ArgumentTypeError(
            f"unit must be an integer and watts a number, got {text!r}"
        ) from None
    return MeterArg(unit, parts[1], load_w)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m demo.simulator", description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--tcp", metavar="HOST:PORT", help="serve Modbus TCP (port 0: any free port)")
    where.add_argument("--serial", metavar="DEVICE", help="serve Modbus RTU on this serial device or pty")
    parser.add_argument("--baud", type=int, default=9600, help="serial baud rate (default 9600)")
    parser.add_argument("--parity", choices=["N", "E", "O"], default="N", help="serial parity (default N)")
    parser.add_argument(
        "--stop-bits", type=int, choices=[1, 2], default=1, help="serial stop bits (default 1)"
    )
    parser.add_argument(
        "--meter", type=meter_arg, action="append", required=True, metavar="UNIT:MODEL[:WATTS]"
    )
    parser.add_argument("--speedup", type=float, default=1.0, help="simulated seconds per real second")
    parser.add_argument(
        "--epoch",
        type=float,
        metavar="UNIX_SECONDS",
        help="run the simulated time from this real moment, as a gateway agent's test clock with the "
        "same epoch and rate does (default: simulated time starts now)",
    )
    parser.add_argument("--shape", choices=["flat", "residential"], default="flat", help="daily load shape")
    parser.add_argument("--tz", default="UTC", help="time zone of the load shape's hours")
    parser.add_argument("--duration", type=float, help="stop by itself after this many seconds")
    parser.add_argument("--commands", action="store_true", help="read control commands from stdin")
    return parser.parse_args(argv)


def build(args: argparse.Namespace) -> MeterSimulator:
    """The simulator the arguments describe; raises ``ValueError`` or a profile error if wrong."""
    zone: tzinfo = UTC if args.tz == "UTC" else ZoneInfo(args.tz)
    shape = LoadShape.residential(zone) if args.shape == "residential" else LoadShape.flat()
    clock = (
        SimClock(speedup=args.speedup)
        if args.epoch is None
        else SimClock.sharing_epoch(args.epoch, args.speedup)
    )
    registry = packaged_registry()
    units = [m.unit for m in args.meter]
    if len(set(units)) != len(units):
        raise ValueError(f"each unit address may be used once, got {units}")
    meters = [
        SimulatedMeter(m.unit, registry.get(m.model_id), load_w=m.load_w, at=clock.now(), shape=shape)
        for m in args.meter
    ]
    return MeterSimulator(meters, clock)


async def serve(args: argparse.Namespace, simulator: MeterSimulator) -> None:
    """Start the endpoint, announce it, and run until stopped."""
    units = ", ".join(str(u) for u in simulator.units)
    if args.tcp:
        host, _, port_text = args.tcp.rpartition(":")
        port = await simulator.start_tcp(host or "127.0.0.1", int(port_text))
        print(f"simulator: serving units {units} on Modbus TCP {host or '127.0.0.1'}:{port}", flush=True)
    else:
        await simulator.start_serial(
            args.serial, baud=args.baud, parity=args.parity, stop_bits=args.stop_bits
        )
        print(f"simulator: serving units {units} on Modbus RTU {args.serial}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    commands = asyncio.create_task(read_commands(simulator)) if args.commands else None
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=args.duration)
    finally:
        if commands is not None:
            commands.cancel()
        await simulator.stop()
    print("simulator: stopped", flush=True)


async def read_commands(simulator: MeterSimulator) -> None:
    """Apply stdin commands until end of input; each answers one line (or ``error: ...``)."""
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        try:
            print(apply_command(simulator, line.decode().split()), flush=True)
        except (ValueError, KeyError, IndexError, InvalidOperation) as error:
            print(f"error: {error!r} in {line.decode().strip()!r}", flush=True)


def apply_command(simulator: MeterSimulator, words: list[str]) -> str:
    """One control command: ``load``, ``behave`` or ``show``; the line to answer."""
    verb, unit = words[0], int(words[1])
    if verb == "load":
        simulator.set_load(unit, Decimal(words[2]))
        return f"unit {unit}: load {words[2]} W"
    if verb == "behave":
        code = int(words[3], 0) if len(words) > 3 else 0x04
        simulator.misbehave(unit, Behaviour(words[2]), code)
        return f"unit {unit}: {words[2]}"
    if verb == "show":
        values = " ".join(f"{m}={v:.6g}" for m, v in simulator.values(unit).items())
        return f"unit {unit}: relay {'closed' if simulator.relay_closed(unit) else 'open'} {values}"
    raise ValueError(f"unknown command {verb!r}; expected load, behave or show")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        simulator = build(args)
    except (ValueError, FirmwareProfileError) as error:
        print(f"simulator: {error}", file=sys.stderr)
        return 2
    asyncio.run(serve(args, simulator))
    return 0


if __name__ == "__main__":
    sys.exit(main())

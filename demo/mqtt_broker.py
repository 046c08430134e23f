"""An MQTT broker for machines without Mosquitto: ``python -m demo.mqtt_broker PORT``.

The demo and the tests prefer the machine's Mosquitto; this pure-Python broker (amqtt) stands in
where none is installed, so ``make demo`` and ``make test`` work on a bare machine. It binds the
loopback only and allows anonymous clients: it is a local stand-in, not a production broker.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from amqtt.broker import Broker


def broker_config(port: int) -> dict[str, object]:
    """A loopback-only, anonymous broker listening on ``port``."""
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }


async def serve(port: int) -> None:
    """Run the broker until SIGTERM or SIGINT."""
    broker = Broker(broker_config(port))
    await broker.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await broker.shutdown()


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(serve(int(sys.argv[1])))


if __name__ == "__main__":
    main()

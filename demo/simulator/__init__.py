"""Simulated Modbus meters for the demo and the tests: real pymodbus servers, over TCP or RTU.

Typical use::

    clock = SimClock()
    meters = [SimulatedMeter(1, registry.get("eastron-sdm120"), load_w=Decimal(950), at=clock.now())]
    simulator = MeterSimulator(meters, clock)
    port = await simulator.start_tcp()          # or: await simulator.start_serial("/dev/pts/5")
    simulator.misbehave(1, Behaviour.SILENT)    # or EXCEPTION (with a code), CORRUPT, NORMAL
    await simulator.stop()

``python -m demo.simulator --help`` runs the same from the command line.
"""

from demo.simulator.devices import Behaviour
from demo.simulator.model import LoadShape, SimClock, SimulatedMeter
from demo.simulator.pty import PtyPair
from demo.simulator.server import MeterSimulator, RequestRecord

__all__ = [
    "Behaviour",
    "LoadShape",
    "MeterSimulator",
    "PtyPair",
    "RequestRecord",
    "SimClock",
    "SimulatedMeter",
]

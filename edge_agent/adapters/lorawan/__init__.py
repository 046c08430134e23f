"""LoRaWAN meters through a ChirpStack v4 network server's MQTT integration.

The daemon parses ``[lorawan]`` with :func:`parse_lorawan`, builds one :class:`LoRaWANBridge` with
the profiles of the meters it names and a sink (``edge_agent.adapters.frames.billing_sink``), runs
:meth:`LoRaWANBridge.run` as a task, and returns :attr:`LoRaWANBridge.relay` as the relay actuator
of every meter for which ``bridge.relay.handles(meter.id)``::

    settings = parse_lorawan(data["lorawan"], source=str(path), base=path.parent, gateway_id=gateway_id)
    profiles = {d.meter_id: registry.get(meters[d.meter_id].profile) for d in settings.devices}
    bridge = LoRaWANBridge(settings, profiles, sink)
    task = asyncio.create_task(bridge.run())
"""

from edge_agent.adapters.lorawan.bridge import BridgeHealth, LoRaWANBridge
from edge_agent.adapters.lorawan.relay import LoRaWANRelay
from edge_agent.adapters.lorawan.settings import LoRaWANDevice, LoRaWANSettings, parse_lorawan

__all__ = [
    "BridgeHealth",
    "LoRaWANBridge",
    "LoRaWANDevice",
    "LoRaWANRelay",
    "LoRaWANSettings",
    "parse_lorawan",
]

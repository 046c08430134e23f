"""NB-IoT meters: frames POSTed over CoAP, authenticated per device with OSCORE.

The daemon parses ``[nbiot]`` with :func:`parse_nbiot`, builds one :class:`NbiotBridge` with the
profiles of the meters it names and a sink (``edge_agent.adapters.frames.billing_sink``), awaits
:meth:`NbiotBridge.start`, returns :attr:`NbiotBridge.relay` as the relay actuator of every meter
for which ``bridge.relay.handles(meter.id)``, and awaits :meth:`NbiotBridge.close` at shutdown.
"""

from edge_agent.adapters.nbiot.relay import NbiotRelay
from edge_agent.adapters.nbiot.server import NbiotBridge, NbiotHealth
from edge_agent.adapters.nbiot.settings import NbiotDevice, NbiotSettings, parse_nbiot

__all__ = ["NbiotBridge", "NbiotDevice", "NbiotHealth", "NbiotRelay", "NbiotSettings", "parse_nbiot"]

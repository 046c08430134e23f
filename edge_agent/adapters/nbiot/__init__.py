"""NB-IoT meters: frames POSTed over CoAP, authenticated per device with OSCORE.

The daemon reads ``[nbiot]`` with :func:`parse_nbiot` (this package's ``settings`` needs no CoAP
library), and only when the gateway has NB-IoT meters imports :mod:`edge_agent.adapters.nbiot.server`:
it builds one ``NbiotBridge`` with the meters' devices and profiles and a sink, awaits its
``start()``, returns ``bridge.relay`` as the relay actuator of every meter it ``handles``, and awaits
``close()`` at shutdown. Importing the server here would load aiocoap (and cryptography) into every
agent, Modbus-only ones included.
"""

from edge_agent.adapters.nbiot.settings import NbiotDevice, NbiotSettings, parse_nbiot

__all__ = ["NbiotDevice", "NbiotSettings", "parse_nbiot"]

"""LoRaWAN meters through a ChirpStack v4 network server's MQTT integration.

The daemon reads ``[lorawan]`` with :func:`parse_lorawan` (this package's ``settings`` needs no MQTT
library), and only when the gateway has LoRaWAN meters imports
:mod:`edge_agent.adapters.lorawan.bridge`: it builds one ``LoRaWANBridge`` with the meters' devices
and profiles and a sink (``edge_agent.adapters.frames.billing_sink``), runs ``bridge.run()`` as a
task, and returns ``bridge.relay`` as the relay actuator of every meter it ``handles``. Importing the
bridge here would load aiomqtt into every agent, Modbus-only ones included.
"""

from edge_agent.adapters.lorawan.settings import LoRaWANDevice, LoRaWANSettings, parse_lorawan

__all__ = ["LoRaWANDevice", "LoRaWANSettings", "parse_lorawan"]

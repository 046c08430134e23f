"""Simulated radio water meters for the demo: LoRaWAN meters through a ChirpStack stand-in on MQTT,
and an NB-IoT meter POSTing its frames over CoAP with OSCORE.

``python -m demo.radio --help`` runs them; the frames are the vendors' own layouts, encoded here and
decoded by the gateway with the firmware profiles' codecs.
"""

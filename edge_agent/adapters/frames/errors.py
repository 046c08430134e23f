"""What can go wrong in a radio bridge, as the gateway's one error type with a subclass per kind.

aiomqtt's, aiocoap's and the OS's exceptions stay inside the bridges: a relay actuator raises one of
these, which the relay controller counts as a failed attempt and retries with backoff.
"""

from __future__ import annotations

from edge_agent.errors import ConfigError, EdgeError


class RadioError(EdgeError):
    """A radio command or read could not be carried out."""


class RadioTimeout(RadioError):
    """The network or the meter did not answer within the bounded wait."""


class CommandNotDelivered(RadioError):
    """The network reports that the meter did not acknowledge a downlink."""


class RadioSettingsError(ConfigError):
    """A ``[lorawan]`` or ``[nbiot]`` setting is wrong; the message names the key path."""

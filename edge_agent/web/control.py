"""What the local page needs from the daemon: a status snapshot and two installer actions."""

from __future__ import annotations

from typing import Protocol

from edge_agent.status import GatewayStatus


class GatewayControl(Protocol):
    """The daemon's side of the local page; the web package never touches buses or the store."""

    def status(self) -> GatewayStatus:
        """A snapshot of the gateway now. Called on the event loop, so it must be quick."""
        ...

    async def read_meter_now(self, meter_id: str) -> str:
        """Read one meter at once; one line for the installer saying what the meter answered."""
        ...

    async def relay_test(self, meter_id: str) -> str:
        """Open then close the meter's relay; one line saying what the meter confirmed each time."""
        ...

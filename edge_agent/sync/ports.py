"""What the sync client needs from the agent it serves: the narrow surface it is written against.

The daemon's :class:`~edge_agent.daemon.GatewayAgent` provides it; tests may provide a smaller one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

import sqlite_utils

from edge_agent.config.document import DocumentConfig
from edge_agent.config.model import MeterConfig
from edge_agent.store.journal import Journal, Transaction
from shared.journal import Pocket, RelayCommand
from shared.sync.gateway_api import GatewayConfigDocument


class Billing(Protocol):
    async def apply_cloud_balances(
        self, balances: Sequence[tuple[str, Pocket, int, int]]
    ) -> dict[tuple[str, Pocket], int]: ...

    def seal_operator_command(self, txn: Transaction, meter: MeterConfig, command: RelayCommand) -> None: ...


class Relays(Protocol):
    def expect(self, meter_id: str, command: RelayCommand) -> None: ...

    def carry_out(self, meter: MeterConfig, command: RelayCommand) -> None: ...


class SyncedGateway(Protocol):
    """The agent as the sync client sees it."""

    journal: Journal
    reader: sqlite_utils.Database
    clock: Callable[[], datetime]

    @property
    def billing(self) -> Billing: ...

    @property
    def relays(self) -> Relays: ...

    @property
    def gateway_id(self) -> str: ...

    def meter_config(self, meter_id: str) -> MeterConfig | None:
        """The meter this agent runs under that id, if any."""
        ...

    def check_document(self, document: GatewayConfigDocument) -> DocumentConfig:
        """Merge and check a config document; raises ``ConfigError`` if it cannot be used."""
        ...

    async def use_config(self, merged: DocumentConfig) -> None:
        """Run on a merged configuration from now on (called after its ``config_applied`` commit)."""
        ...

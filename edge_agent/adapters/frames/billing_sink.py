"""The radio bridges' sink over the gateway's own billing service and relay controller.

The daemon can hand this to both bridges as it is: readings go through ``BillingService.on_reading``
(the same pipeline as Modbus), alarms are journalled and kept open like the daemon's own, and a
relay state a meter reports on its own (not in answer to a command) is journalled through the
relay controller, which asks the bridge's actuator for the state the uplink just reported.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal

from edge_agent.billing.service import BillingService
from edge_agent.config.model import MeterConfig
from edge_agent.relay.controller import RelayController
from edge_agent.store.journal import Journal
from edge_agent.store.statements import UPSERT_OPEN_ALARM
from shared.credit import RelayState
from shared.journal import Alarm, AlarmKind, ReadingSource
from shared.quantities import Measurement

log = logging.getLogger(__name__)


class BillingSink:
    """A :class:`~edge_agent.adapters.frames.feed.RadioSink` over the gateway's billing and relays."""

    def __init__(
        self,
        billing: BillingService,
        relays: RelayController,
        journal: Journal,
        meters: Mapping[str, MeterConfig],
        clock: Callable[[], datetime],
    ) -> None:
        self.billing = billing
        self.relays = relays
        self.journal = journal
        self.meters = meters
        self.clock = clock

    async def on_reading(
        self,
        meter_id: str,
        measurements: dict[Measurement, Decimal],
        read_at: datetime,
        source: ReadingSource,
    ) -> None:
        if meter_id not in self.billing.meters:
            return  # the meter was removed by a new configuration while its frame was in flight
        await self.billing.on_reading(meter_id, measurements, read_at, source)

    def last_read_at(self, meter_id: str) -> datetime | None:
        state = self.billing.states.get(meter_id)
        register = None if state is None else state.register
        return None if register is None else register.read_at

    async def on_alarm(self, meter_id: str, kind: AlarmKind, detail: str) -> None:
        with self.journal.transaction(self.clock()) as txn:
            entry = txn.append(Alarm(meter_id=meter_id, kind=kind, detail=detail))
            txn.execute(UPSERT_OPEN_ALARM, (meter_id, kind.value, detail, entry.seq))
        await txn.committed()

    async def on_relay_state(self, meter_id: str, closed: bool, observed_at: datetime) -> None:
        """Journal an unsolicited change; a command in progress journals its own confirmation."""
        meter = self.meters.get(meter_id)
        if meter is None or self.relays.pending(meter_id) is not None:
            return
        if self.relays.confirmed(meter_id) is (RelayState.CLOSED if closed else RelayState.OPEN):
            return
        # read_back asks the actuator, which answers at once with the state this uplink reported.
        await self.relays.read_back(meter)

"""Building the gateway's status snapshot from what the agent itself believes right now."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from edge_agent.status import AlarmView, GatewayStatus, HealthView, MeterStatus, RelayView
from edge_agent.store.queries import acknowledged_seq
from shared.credit import RelayState
from shared.quantities import BILLING_UNIT, billing_units

if TYPE_CHECKING:
    from edge_agent.config.model import MeterConfig
    from edge_agent.daemon import GatewayAgent

RELAY_VIEWS = {
    RelayState.CLOSED: RelayView.CLOSED,
    RelayState.OPEN: RelayView.OPEN,
    RelayState.UNKNOWN: RelayView.UNKNOWN,
}


class StatusReporter:
    """Reads the agent's in-memory state and its store; never blocks the writer (WAL reader)."""

    def __init__(self, agent: GatewayAgent) -> None:
        self.agent = agent

    def snapshot(self) -> GatewayStatus:
        agent = self.agent
        alarms = self._open_alarms()
        head = agent.journal.head.seq
        sync_row = agent.reader.execute("SELECT last_sync_at FROM sync_state WHERE id = 1").fetchone()
        last_sync = datetime.fromisoformat(sync_row[0]) if sync_row and sync_row[0] else None
        return GatewayStatus(
            gateway_id=agent.config.gateway_id,
            gateway_name=agent.config.gateway_name,
            generated_at=agent.clock(),
            currency=next(iter(agent.config.credit.values())).currency if agent.config.credit else "ZAR",
            journal_length=head,
            unsynced_backlog=head - acknowledged_seq(agent.reader),
            last_sync_at=last_sync,
            meters=tuple(self._meter(meter, alarms) for meter in agent.config.meters),
            alarms=tuple(alarms),
        )

    def _meter(self, meter: MeterConfig, alarms: list[AlarmView]) -> MeterStatus:
        agent = self.agent
        health = agent.coordinators[meter.bus].health(meter)
        register, read_at = agent.last_register.get(meter.id, (None, None))
        state = agent.billing.states.get(meter.id)
        if register is None and state is not None and state.register is not None:
            register, read_at = state.register.value, state.register.read_at
        has_relay = agent.registry.get(meter.profile).has_relay
        confirmed_at = agent.relays.confirmed_at(meter.id)
        return MeterStatus(
            id=meter.id, unit=meter.unit, utility=meter.utility.value, profile=meter.profile, bus=meter.bus,
            address=meter.address,
            # People read registers as meters display them: kWh and kL, not Wh and litres.
            register=None if register is None else billing_units(register),
            register_unit=BILLING_UNIT[meter.utility].value,
            last_read_at=read_at,
            health=HealthView(
                online=not health.lost, last_good_read_at=health.last_good_at,
                consecutive_failures=health.consecutive_failures, error_rate=health.error_rate,
                last_error=agent.last_failure.get(meter.id),
            ),
            relay=RELAY_VIEWS[agent.relays.confirmed(meter.id)] if has_relay else RelayView.NO_RELAY,
            relay_confirmed_at=datetime.fromisoformat(confirmed_at) if confirmed_at else None,
            wallet_id=meter.wallet_id, pocket=meter.pocket.value if meter.wallet_id else None,
            cached_balance_cents=agent.billing.balance_of(meter) if meter.wallet_id else None,
            alarms=tuple(alarm for alarm in alarms if alarm.meter_id == meter.id),
        )  # fmt: skip

    def _open_alarms(self) -> list[AlarmView]:
        rows = self.agent.reader.execute(
            "SELECT meter_id, kind, detail, raised_seq FROM open_alarm ORDER BY raised_seq"
        ).fetchall()
        return [AlarmView(meter_id=m, kind=k, detail=d, raised_seq=s) for m, k, d, s in rows]

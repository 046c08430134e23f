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
    from edge_agent.radio import RadioHealth

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
        register, read_at = agent.last_register.get(meter.id, (None, None))
        state = agent.billing.states.get(meter.id)
        if register is None and state is not None and state.register is not None:
            register, read_at = state.register.value, state.register.read_at
        has_relay = agent.registry.get(meter.profile).has_relay
        confirmed_at = agent.relays.confirmed_at(meter.id)
        radio = None if meter.bus is not None else agent.radio.health(meter)
        return MeterStatus(
            id=meter.id, unit=meter.unit, utility=meter.utility.value, profile=meter.profile,
            protocol=meter.transport.value, bus=meter.bus, address=meter.address,
            device_id=meter.dev_eui or meter.imei, serial=meter.serial,
            rssi_dbm=radio.rssi_dbm if radio else None, snr_db=radio.snr_db if radio else None,
            # People read registers as meters display them: kWh and kL, not Wh and litres.
            register=None if register is None else billing_units(register),
            register_unit=BILLING_UNIT[meter.utility].value,
            last_read_at=read_at,
            health=self._health(meter, radio),
            relay=RELAY_VIEWS[agent.relays.confirmed(meter.id)] if has_relay else RelayView.NO_RELAY,
            relay_confirmed_at=datetime.fromisoformat(confirmed_at) if confirmed_at else None,
            relay_hold=agent.billing.holds.get(meter.id),
            wallet_id=meter.wallet_id, pocket=meter.pocket.value if meter.wallet_id else None,
            cached_balance_cents=agent.billing.balance_of(meter) if meter.wallet_id else None,
            alarms=tuple(alarm for alarm in alarms if alarm.meter_id == meter.id),
        )  # fmt: skip

    def _health(self, meter: MeterConfig, radio: RadioHealth | None) -> HealthView:
        """A Modbus meter's polls, or a radio meter's silence (it is never asked, so never fails)."""
        if radio is not None:
            return HealthView(online=not radio.lost, last_good_read_at=radio.last_heard_at,
                              consecutive_failures=0, error_rate=0.0, last_error=None)  # fmt: skip
        assert meter.bus is not None
        health = self.agent.coordinators[meter.bus].health(meter)
        return HealthView(
            online=not health.lost, last_good_read_at=health.last_good_at,
            consecutive_failures=health.consecutive_failures, error_rate=health.error_rate,
            last_error=self.agent.last_failure.get(meter.id),
        )  # fmt: skip

    def _open_alarms(self) -> list[AlarmView]:
        rows = self.agent.reader.execute(
            "SELECT meter_id, kind, detail, raised_seq FROM open_alarm ORDER BY raised_seq"
        ).fetchall()
        return [AlarmView(meter_id=m, kind=k, detail=d, raised_seq=s) for m, k, d, s in rows]

"""A small in-test gateway: real ``GatewayStatus`` values the test can change while the page runs."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import msgspec

from edge_agent.status import AlarmView, GatewayStatus, HealthView, MeterStatus, RelayView

NOW = datetime(2026, 11, 22, 3, 40, 0, tzinfo=UTC)


def _health(online: bool, failures: int = 0, error_rate: float = 0.0, error: str | None = None) -> HealthView:
    last_good = NOW - timedelta(seconds=30 if online else 900)
    return HealthView(
        online=online,
        last_good_read_at=last_good,
        consecutive_failures=failures,
        error_rate=error_rate,
        last_error=error,
    )


def _meter(
    meter_id: str,
    unit: str,
    utility: str,
    register: str | None,
    relay: RelayView,
    balance_cents: int | None,
    health: HealthView,
    alarms: tuple[AlarmView, ...] = (),
) -> MeterStatus:
    return MeterStatus(
        id=meter_id,
        unit=unit,
        utility=utility,
        profile="eastron-sdm120" if utility == "electricity" else "kamstrup-flowiq",
        bus="rs485-a",
        address=int(unit) if unit.isdigit() else 9,
        register=None if register is None else Decimal(register),
        register_unit="kWh" if utility == "electricity" else "L",
        last_read_at=None if register is None else NOW - timedelta(seconds=30),
        health=health,
        relay=relay,
        relay_confirmed_at=None
        if relay in {RelayView.NO_RELAY, RelayView.UNKNOWN}
        else NOW - timedelta(minutes=5),
        wallet_id=None if balance_cents is None else f"wallet-unit-{unit}",
        pocket=None if balance_cents is None else utility,
        cached_balance_cents=balance_cents,
        alarms=alarms,
    )


def sample_status() -> GatewayStatus:
    """Four meters: one of each relay state, one offline with an alarm, one without a wallet."""
    tamper = AlarmView(
        meter_id="elec-03", kind="communication_loss", detail="no answer for 15 min", raised_seq=412
    )
    meters = (
        _meter("elec-01", "01", "electricity", "1234.56", RelayView.CLOSED, 15_075, _health(True)),
        _meter(
            "elec-02", "02", "electricity", "88.10", RelayView.OPEN, -1_234, _health(True, error_rate=0.025)
        ),
        _meter(
            "elec-03",
            "03",
            "electricity",
            "501.00",
            RelayView.UNKNOWN,
            2_000,
            _health(False, failures=7, error_rate=0.4, error="timeout after 1.0 s (slave 3)"),
            (tamper,),
        ),
        _meter("water-01", "01", "water", "35210", RelayView.NO_RELAY, None, _health(True)),
    )
    return GatewayStatus(
        gateway_id="gw-oak-estate-01",
        gateway_name="Oak Estate gateway",
        generated_at=NOW,
        currency="ZAR",
        journal_length=5120,
        unsynced_backlog=37,
        last_sync_at=None,
        meters=meters,
        alarms=(tamper,),
    )


class FakeGateway:
    """Implements ``GatewayControl`` over a status the test replaces at will."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._status = sample_status()
        self.actions: list[tuple[str, str]] = []
        self.relay_test_s = 0.0  # how long a relay test takes (a real one waits for two confirmations)
        self.relay_tests_finished = 0

    def status(self) -> GatewayStatus:
        with self._lock:
            return self._status

    def set_status(self, status: GatewayStatus) -> None:
        with self._lock:
            self._status = status

    def replace_meter(self, meter_id: str, **changes: object) -> None:
        """Change one meter's fields, as the agent would after a poll or a relay confirmation."""
        with self._lock:
            meters = tuple(
                msgspec.structs.replace(m, **changes) if m.id == meter_id else m for m in self._status.meters
            )
            self._status = msgspec.structs.replace(self._status, meters=meters)

    async def read_meter_now(self, meter_id: str) -> str:
        self.actions.append(("read", meter_id))
        return f"{meter_id} answered: 1234.57 kWh"

    async def relay_test(self, meter_id: str) -> str:
        self.actions.append(("relay_test", meter_id))
        await asyncio.sleep(self.relay_test_s)
        self.relay_tests_finished += 1
        return "opened (meter confirmed open), closed (meter confirmed closed)"

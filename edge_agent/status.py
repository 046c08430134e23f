"""What the gateway shows the estate: a snapshot of every meter, the journal and sync.

The local page and ``/api/status`` render a :class:`GatewayStatus`; the daemon builds one on
request from its store and its in-memory bus health, so the page never shows anything the agent
does not itself believe.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import msgspec


class RelayView(enum.StrEnum):
    """The relay as last confirmed by the meter itself (never as commanded)."""

    CLOSED = "closed"
    OPEN = "open"
    UNKNOWN = "unknown"
    NO_RELAY = "no_relay"


class HealthView(msgspec.Struct, frozen=True, kw_only=True):
    """Communication health of one meter (a radio meter's last good read is its last frame)."""

    online: bool
    last_good_read_at: datetime | None
    consecutive_failures: int
    error_rate: float
    last_error: str | None


class AlarmView(msgspec.Struct, frozen=True, kw_only=True):
    """An alarm still open (raised and not cleared)."""

    meter_id: str
    kind: str
    detail: str
    raised_seq: int


class MeterStatus(msgspec.Struct, frozen=True, kw_only=True):
    """One meter as the page shows it."""

    id: str
    unit: str
    utility: str
    profile: str
    #: How the gateway hears from the meter: modbus, lorawan or nbiot.
    protocol: str = "modbus"
    bus: str | None
    address: int | None
    #: A radio meter's device: its DevEUI (LoRaWAN) or IMEI (NB-IoT).
    device_id: str | None = None
    #: The installed meter's serial number, as configured (a new one is a meter replacement).
    serial: str | None = None
    #: The radio link of the meter's last uplink, where the network reports it (LoRaWAN).
    rssi_dbm: int | None = None
    snr_db: float | None = None
    register: Decimal | None
    """The billing register in billing units (kWh or kL), as the meter's display shows it."""
    register_unit: str
    last_read_at: datetime | None
    health: HealthView
    relay: RelayView
    relay_confirmed_at: datetime | None
    #: An operator's hold on the relay (``open``, or ``closed`` for an emergency reconnect):
    #: credit control leaves a held relay where the operator put it.
    relay_hold: str | None = None
    wallet_id: str | None
    pocket: str | None
    cached_balance_cents: int | None
    alarms: tuple[AlarmView, ...]


class GatewayStatus(msgspec.Struct, frozen=True, kw_only=True):
    """The whole gateway at one moment."""

    gateway_id: str
    gateway_name: str
    generated_at: datetime
    currency: str
    journal_length: int
    unsynced_backlog: int
    last_sync_at: datetime | None
    meters: tuple[MeterStatus, ...]
    alarms: tuple[AlarmView, ...]


_ENCODER = msgspec.json.Encoder(decimal_format="string")


def status_json(status: GatewayStatus) -> bytes:
    """``/api/status``: the same data as the page, as JSON (Decimals as strings, times RFC 3339)."""
    return _ENCODER.encode(status)

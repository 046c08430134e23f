"""What the gateway agent is configured with, once ``edge.toml`` has been read and checked."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from shared.credit import CreditPolicy
from shared.journal import Pocket
from shared.quantities import Utility
from shared.tariffs import TariffSchedule


class BusKind(enum.StrEnum):
    RTU = "rtu"
    TCP = "tcp"


class Parity(enum.StrEnum):
    NONE = "N"
    EVEN = "E"
    ODD = "O"


@dataclass(frozen=True, slots=True)
class SerialLine:
    """An RS485 line: the device and its framing (Eastron's default is 9600 8E1)."""

    port: str
    baud: int
    parity: Parity
    stop_bits: int
    byte_size: int


@dataclass(frozen=True, slots=True)
class BusConfig:
    """One Modbus bus: RTU over a serial line, or Modbus TCP to host:port."""

    id: str
    kind: BusKind
    serial: SerialLine | None
    host: str | None
    port: int | None
    timeout_ms: int | None
    retries: int


@dataclass(frozen=True, slots=True)
class MeterConfig:
    """One meter the gateway reads, and bills when it has a wallet (bulk and common-property
    meters have none: they are read and journalled for reconciliation, not charged)."""

    id: str
    unit: str
    utility: Utility
    profile: str
    bus: str
    address: int
    poll_interval_s: int
    wallet_id: str | None
    pocket: Pocket
    credit_limit_cents: int


@dataclass(frozen=True, slots=True)
class WebConfig:
    """The local page: where it listens and the installer's password (stored as a scrypt hash)."""

    host: str
    port: int
    installer_password_hash: str | None


@dataclass(frozen=True, slots=True)
class JournalConfig:
    """Group commit bounds: a group closes at this many rows or after this many milliseconds."""

    group_max_rows: int
    group_max_wait_ms: int


@dataclass(frozen=True, slots=True)
class CloudConfig:
    """Where the cloud is and the gateway's signing key (``[cloud]``); written by enrolment."""

    url: str
    key_file: Path
    enabled: bool
    #: How often the sync client looks for new journal entries to upload when nothing woke it.
    sync_interval_s: float
    #: Most entries per upload batch (the protocol's maximum by default; less on a thin link).
    batch_entries: int


@dataclass(frozen=True, slots=True)
class EdgeConfig:
    """The whole agent configuration."""

    source: Path
    gateway_id: str
    gateway_name: str
    timezone: str
    holiday_country: str
    store_path: Path
    web: WebConfig
    journal: JournalConfig
    buses: tuple[BusConfig, ...]
    meters: tuple[MeterConfig, ...]
    tariffs: dict[Utility, TariffSchedule]
    credit: dict[Utility, CreditPolicy]
    #: ``None`` when ``edge.toml`` has no ``[cloud]`` section: the gateway runs stand-alone.
    cloud: CloudConfig | None = None

    def bus(self, bus_id: str) -> BusConfig:
        return next(bus for bus in self.buses if bus.id == bus_id)

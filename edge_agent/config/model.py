"""What the gateway agent is configured with, once ``edge.toml`` has been read and checked."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from firmware_profiles import Transport
from shared.credit import CreditPolicy
from shared.journal import Pocket
from shared.quantities import Utility
from shared.tariffs import TariffSchedule

if TYPE_CHECKING:  # the bridges' modules are imported only by an agent that runs them
    from edge_agent.adapters.lorawan.settings import LoRaWANSettings
    from edge_agent.adapters.nbiot.settings import NbiotSettings


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
    meters have none: they are read and journalled for reconciliation, not charged).

    A meter has exactly one connection: a Modbus ``bus`` and ``address``, a LoRaWAN ``dev_eui``,
    or an NB-IoT ``imei``.
    """

    id: str
    unit: str
    utility: Utility
    profile: str
    bus: str | None
    address: int | None
    #: Modbus: how often the meter is polled. Radio: how often it is expected to send, which is
    #: what its communication-lost alarm is judged against.
    poll_interval_s: int
    wallet_id: str | None
    pocket: Pocket
    credit_limit_cents: int
    dev_eui: str | None = None
    imei: str | None = None
    #: Pulse counters: the litres or Wh one pulse stands for (the meter's own, not the model's).
    pulse_weight: Decimal | None = None
    #: The input of a multi-input pulse device that feeds this meter (Adeunis "A"/"B").
    pulse_input: str | None = None
    #: Seconds between logged samples, where only the device's own configuration says (Adeunis).
    history_period_s: int | None = None
    #: The installed meter's serial number. A new serial for the same meter id is a meter
    #: replacement (``edge_agent/billing/replacement.py``).
    serial: str | None = None
    #: The installer's readings at a replacement, in base units (Wh or L): the old meter's final
    #: register and the new meter's register when installed. Without them the agent takes the old
    #: meter's last reading and the new meter's first.
    old_meter_final_register: Decimal | None = None
    new_meter_first_register: Decimal | None = None
    #: The serial of the meter those readings' old meter was (the cloud's replacement): they apply
    #: only when the baseline was read from it. ``None`` (``edge.toml``'s): whatever it was.
    replaced_serial: str | None = None

    @property
    def transport(self) -> Transport:
        """How the gateway hears from the meter."""
        if self.dev_eui is not None:
            return Transport.LORAWAN
        if self.imei is not None:
            return Transport.NBIOT
        return Transport.MODBUS


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
    #: ``[lorawan]``: the broker ChirpStack publishes to; ``None`` without LoRaWAN meters.
    lorawan: LoRaWANSettings | None = None
    #: ``[nbiot]``: the CoAP server NB-IoT meters call; ``None`` without NB-IoT meters.
    nbiot: NbiotSettings | None = None

    def bus(self, bus_id: str) -> BusConfig:
        return next(bus for bus in self.buses if bus.id == bus_id)

"""The gateways context's tables: keys and enrolment, the stored journal, and what it reports.

Journal entries are stored unchanged (``entry`` holds the gateway's bytes) and never updated or
deleted (the migration installs the append-only trigger on ``gateway_journal``). Readings, alarms
and relay states are copies of journal facts, in columns, for reporting. ``gateway_sync_state`` is
the one row per gateway that orders its batches: intake locks it for the whole transaction.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from cloud.database.models import Base


class GatewayKey(Base):
    """An Ed25519 public key a gateway enrolled; a later enrolment revokes it."""

    __tablename__ = "gateway_keys"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    gateway_id: Mapped[int] = mapped_column(ForeignKey("gateways.id"), index=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    agent_version: Mapped[str] = mapped_column(Text, server_default="")
    enrolled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class EnrolmentCode(Base):
    """A one-time enrolment code, stored as its SHA-256 only; used once, before it expires."""

    __tablename__ = "gateway_enrolment_codes"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    gateway_id: Mapped[int] = mapped_column(ForeignKey("gateways.id"), index=True)
    code_sha256: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class GatewaySyncState(Base):
    """Where a gateway's stored journal ends, and its config and push counters."""

    __tablename__ = "gateway_sync_state"

    gateway_id: Mapped[int] = mapped_column(ForeignKey("gateways.id"), primary_key=True)
    head_seq: Mapped[int] = mapped_column(BigInteger, server_default="0")
    head_hash: Mapped[str] = mapped_column(Text, server_default="0" * 64)


class JournalRecord(Base):
    """One journal entry exactly as the gateway encoded it, keyed by (gateway, seq)."""

    __tablename__ = "gateway_journal"

    gateway_id: Mapped[int] = mapped_column(ForeignKey("gateways.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    hash: Mapped[str] = mapped_column(Text)
    entry: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class MeterReading(Base):
    """A reading a gateway journalled, for reports: the billing register and every measurement."""

    __tablename__ = "gateway_readings"

    gateway_id: Mapped[int] = mapped_column(ForeignKey("gateways.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    meter_id: Mapped[str] = mapped_column(Text, index=True)
    read_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    billing_register: Mapped[Decimal | None] = mapped_column(Numeric)
    measurements: Mapped[dict[str, Any]] = mapped_column(JSONB)


class GatewayAlarm(Base):
    """An alarm a gateway journalled (``seq`` set) or the cloud raised about a gateway (``seq`` null)."""

    __tablename__ = "gateway_alarms"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    gateway_id: Mapped[int] = mapped_column(ForeignKey("gateways.id"), index=True)
    seq: Mapped[int | None] = mapped_column(BigInteger)
    origin: Mapped[str] = mapped_column(Text)
    meter_id: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RelayState(Base):
    """A relay state a meter reported through its gateway: the only evidence a relay switched."""

    __tablename__ = "gateway_relay_states"
    #: A relay command's outcome is looked up by the command_id its confirmation carries.
    __table_args__ = (Index("ix_gateway_relay_states_command", "gateway_id", "command_id"),)

    gateway_id: Mapped[int] = mapped_column(ForeignKey("gateways.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    meter_id: Mapped[str] = mapped_column(Text, index=True)
    command_id: Mapped[str | None] = mapped_column(Text)
    closed: Mapped[bool] = mapped_column(Boolean)
    observed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ChargeDiscrepancy(Base):
    """An entry revenue assurance flagged: a charge the readings or its own fields re-rate differently,
    or a reading whose consumption was not charged (``charged_cents`` 0)."""

    __tablename__ = "gateway_charge_discrepancies"

    gateway_id: Mapped[int] = mapped_column(ForeignKey("gateways.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    meter_id: Mapped[str] = mapped_column(Text)
    tariff_version: Mapped[str] = mapped_column(Text)
    charged_cents: Mapped[int] = mapped_column(BigInteger)
    rerated_cents: Mapped[int | None] = mapped_column(BigInteger)
    detail: Mapped[str] = mapped_column(Text)
    found_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class MeterAssuranceState(Base):
    """The cloud's own billing state of one meter of a gateway, derived from its stored readings
    (``cloud.gateways.rederive.MeterAssurance`` as JSON); ``open_seq`` is the reading whose charges
    may still arrive in the next batch."""

    __tablename__ = "gateway_assurance_meters"

    gateway_id: Mapped[int] = mapped_column(ForeignKey("gateways.id"), primary_key=True)
    meter_id: Mapped[str] = mapped_column(Text, primary_key=True)
    state: Mapped[str] = mapped_column(Text)
    open_seq: Mapped[int | None] = mapped_column(BigInteger)


class RelayCommandRecord(Base):
    """A relay command a person queued through the API for one meter, carried by the push channel.

    ``command_id`` is what the gateway journals with the relay state that confirms it;
    ``idempotency_key`` is unique per meter, so a retried request returns this command again.
    """

    __tablename__ = "gateway_relay_commands"
    __table_args__ = (
        CheckConstraint("action IN ('open', 'close')", name="action"),
        UniqueConstraint("meter_id", "idempotency_key"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    command_id: Mapped[str] = mapped_column(Text, unique=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id"))
    gateway_id: Mapped[int] = mapped_column(ForeignKey("gateways.id"))
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"))
    action: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(Text)
    requested_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("auth_users.id"))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("auth_api_keys.id"))
    push_cursor: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ConfigVersion(Base):
    """A version of a gateway's config document: a new one whenever its content changes."""

    __tablename__ = "gateway_config_versions"

    gateway_id: Mapped[int] = mapped_column(ForeignKey("gateways.id"), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    digest: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PushCursor(Base):
    """The last push cursor handed out per gateway (its own row, so top-ups never wait on intake)."""

    __tablename__ = "gateway_push_cursors"

    gateway_id: Mapped[int] = mapped_column(ForeignKey("gateways.id"), primary_key=True)
    last_cursor: Mapped[int] = mapped_column(BigInteger, server_default="0")


class PushMessageRecord(Base):
    """A message waiting on a gateway's push channel, in cursor order (JSON as sent)."""

    __tablename__ = "gateway_push_messages"

    gateway_id: Mapped[int] = mapped_column(ForeignKey("gateways.id"), primary_key=True)
    cursor: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    message: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class MeterConnection(Base):
    """How a gateway reaches a meter: Modbus bus and address, or a LoRaWAN/NB-IoT identity."""

    __tablename__ = "gateway_meter_connections"

    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id"), primary_key=True)
    bus: Mapped[str | None] = mapped_column(Text)
    address: Mapped[int | None] = mapped_column(Integer)
    poll_interval_s: Mapped[int] = mapped_column(Integer, server_default="60")
    dev_eui: Mapped[str | None] = mapped_column(Text)
    imei: Mapped[str | None] = mapped_column(Text)

"""Edge-cloud sync: gateway keys and enrolment codes, the stored journal and what it reports,
config versions, the push channel, revenue-assurance findings, meter connection details.

The stored journal is append-only (the ledger's ``quantify_refuse_change`` trigger, SQLSTATE QL001);
a row inserted into ``gateway_push_messages`` notifies channel ``quantify_gateway_push`` with the
gateway id, delivered at commit, so a waiting long poll wakes at once.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-22 04:05:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS_HASH = "0" * 64

NOTIFY_PUSH = """
CREATE FUNCTION quantify_notify_gateway_push() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('quantify_gateway_push', NEW.gateway_id::text);
    RETURN NULL;
END
$$
"""


def _gateway_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["gateway_id"], ["gateways.id"], name=op.f(f"fk_{table}_gateway_id_gateways")
    )


def _now() -> sa.Column[Any]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    _keys_and_codes()
    _journal_tables()
    _config_and_push()
    op.execute(
        "CREATE TRIGGER gateway_journal_append_only BEFORE UPDATE OR DELETE ON gateway_journal "
        "FOR EACH ROW EXECUTE FUNCTION quantify_refuse_change()"
    )
    op.execute(
        "CREATE TRIGGER gateway_journal_no_truncate BEFORE TRUNCATE ON gateway_journal "
        "FOR EACH STATEMENT EXECUTE FUNCTION quantify_refuse_change()"
    )
    op.execute(NOTIFY_PUSH)
    op.execute(
        "CREATE TRIGGER gateway_push_notify AFTER INSERT ON gateway_push_messages "
        "FOR EACH ROW EXECUTE FUNCTION quantify_notify_gateway_push()"
    )


def _keys_and_codes() -> None:
    op.create_table(
        "gateway_keys",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("gateway_id", sa.BigInteger(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("agent_version", sa.Text(), server_default="", nullable=False),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        _gateway_fk("gateway_keys"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_keys")),
    )
    op.create_index(op.f("ix_gateway_keys_gateway_id"), "gateway_keys", ["gateway_id"])
    op.create_table(
        "gateway_enrolment_codes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("gateway_id", sa.BigInteger(), nullable=False),
        sa.Column("code_sha256", sa.LargeBinary(), nullable=False),
        _now(),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        _gateway_fk("gateway_enrolment_codes"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_enrolment_codes")),
        sa.UniqueConstraint("code_sha256", name=op.f("uq_gateway_enrolment_codes_code_sha256")),
    )
    op.create_index(op.f("ix_gateway_enrolment_codes_gateway_id"), "gateway_enrolment_codes", ["gateway_id"])


def _journal_tables() -> None:
    op.create_table(
        "gateway_sync_state",
        sa.Column("gateway_id", sa.BigInteger(), nullable=False),
        sa.Column("head_seq", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("head_hash", sa.Text(), server_default=GENESIS_HASH, nullable=False),
        _gateway_fk("gateway_sync_state"),
        sa.PrimaryKeyConstraint("gateway_id", name=op.f("pk_gateway_sync_state")),
    )
    op.create_table(
        "gateway_journal",
        sa.Column("gateway_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("hash", sa.Text(), nullable=False),
        sa.Column("entry", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        _gateway_fk("gateway_journal"),
        sa.PrimaryKeyConstraint("gateway_id", "seq", name=op.f("pk_gateway_journal")),
    )
    op.create_table(
        "gateway_readings",
        sa.Column("gateway_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("meter_id", sa.Text(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("billing_register", sa.Numeric(), nullable=True),
        sa.Column("measurements", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        _gateway_fk("gateway_readings"),
        sa.PrimaryKeyConstraint("gateway_id", "seq", name=op.f("pk_gateway_readings")),
    )
    op.create_index(op.f("ix_gateway_readings_meter_id"), "gateway_readings", ["meter_id"])
    op.create_table(
        "gateway_alarms",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("gateway_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("meter_id", sa.Text(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("origin IN ('gateway', 'cloud')", name=op.f("ck_gateway_alarms_origin")),
        _gateway_fk("gateway_alarms"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_alarms")),
    )
    op.create_index(op.f("ix_gateway_alarms_gateway_id"), "gateway_alarms", ["gateway_id"])
    op.create_table(
        "gateway_relay_states",
        sa.Column("gateway_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("meter_id", sa.Text(), nullable=False),
        sa.Column("command_id", sa.Text(), nullable=True),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        _gateway_fk("gateway_relay_states"),
        sa.PrimaryKeyConstraint("gateway_id", "seq", name=op.f("pk_gateway_relay_states")),
    )
    op.create_index(op.f("ix_gateway_relay_states_meter_id"), "gateway_relay_states", ["meter_id"])
    op.create_table(
        "gateway_charge_discrepancies",
        sa.Column("gateway_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("meter_id", sa.Text(), nullable=False),
        sa.Column("tariff_version", sa.Text(), nullable=False),
        sa.Column("charged_cents", sa.BigInteger(), nullable=False),
        sa.Column("rerated_cents", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("found_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        _gateway_fk("gateway_charge_discrepancies"),
        sa.PrimaryKeyConstraint("gateway_id", "seq", name=op.f("pk_gateway_charge_discrepancies")),
    )


def _config_and_push() -> None:
    op.create_table(
        "gateway_config_versions",
        sa.Column("gateway_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("digest", sa.Text(), nullable=False),
        _now(),
        _gateway_fk("gateway_config_versions"),
        sa.PrimaryKeyConstraint("gateway_id", "version", name=op.f("pk_gateway_config_versions")),
    )
    op.create_table(
        "gateway_push_cursors",
        sa.Column("gateway_id", sa.BigInteger(), nullable=False),
        sa.Column("last_cursor", sa.BigInteger(), server_default="0", nullable=False),
        _gateway_fk("gateway_push_cursors"),
        sa.PrimaryKeyConstraint("gateway_id", name=op.f("pk_gateway_push_cursors")),
    )
    op.create_table(
        "gateway_push_messages",
        sa.Column("gateway_id", sa.BigInteger(), nullable=False),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.Column("message", sa.LargeBinary(), nullable=False),
        _now(),
        _gateway_fk("gateway_push_messages"),
        sa.PrimaryKeyConstraint("gateway_id", "cursor", name=op.f("pk_gateway_push_messages")),
    )
    op.create_table(
        "gateway_meter_connections",
        sa.Column("meter_id", sa.BigInteger(), nullable=False),
        sa.Column("bus", sa.Text(), nullable=True),
        sa.Column("address", sa.Integer(), nullable=True),
        sa.Column("poll_interval_s", sa.Integer(), server_default="60", nullable=False),
        sa.Column("dev_eui", sa.Text(), nullable=True),
        sa.Column("imei", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "address IS NULL OR address BETWEEN 1 AND 247", name=op.f("ck_gateway_meter_connections_address")
        ),
        sa.CheckConstraint(
            "poll_interval_s BETWEEN 1 AND 86400", name=op.f("ck_gateway_meter_connections_poll")
        ),
        sa.ForeignKeyConstraint(
            ["meter_id"], ["meters.id"], name=op.f("fk_gateway_meter_connections_meter_id_meters")
        ),
        sa.PrimaryKeyConstraint("meter_id", name=op.f("pk_gateway_meter_connections")),
    )


def downgrade() -> None:
    for table in (
        "gateway_meter_connections",
        "gateway_push_messages",
        "gateway_push_cursors",
        "gateway_config_versions",
        "gateway_charge_discrepancies",
        "gateway_relay_states",
        "gateway_alarms",
        "gateway_readings",
        "gateway_journal",
        "gateway_sync_state",
        "gateway_enrolment_codes",
        "gateway_keys",
    ):
        op.drop_table(table)
    op.execute("DROP FUNCTION quantify_notify_gateway_push()")

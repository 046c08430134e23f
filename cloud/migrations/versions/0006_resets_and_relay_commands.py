"""Password resets (one-time tokens, stored hashed) and operators' relay commands for meters.

``auth_password_resets`` holds a reset token's SHA-256 only, with its expiry and the moment it was
used, so a token works once and a stolen table opens no account. ``gateway_relay_commands`` records
each relay command a person queued through the API (who, why, the push cursor that carries it) and
its idempotency key, unique per meter, so a retried request queues nothing twice. Its outcome is the
relay state the gateway journals with the same ``command_id``, found by the new index on
``gateway_relay_states``.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 05:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "auth_password_resets",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("issued_by_user_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["auth_users.id"], name=op.f("fk_auth_password_resets_user_id_auth_users")
        ),
        sa.ForeignKeyConstraint(
            ["issued_by_user_id"],
            ["auth_users.id"],
            name=op.f("fk_auth_password_resets_issued_by_user_id_auth_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_password_resets")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_auth_password_resets_token_hash")),
    )
    op.create_index(op.f("ix_auth_password_resets_user_id"), "auth_password_resets", ["user_id"])
    op.create_table(
        "gateway_relay_commands",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("command_id", sa.Text(), nullable=False),
        sa.Column("meter_id", sa.BigInteger(), nullable=False),
        sa.Column("gateway_id", sa.BigInteger(), nullable=False),
        sa.Column("estate_id", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column("requested_by_user_id", sa.BigInteger(), nullable=True),
        sa.Column("api_key_id", sa.BigInteger(), nullable=True),
        sa.Column("push_cursor", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("action IN ('open', 'close')", name=op.f("ck_gateway_relay_commands_action")),
        sa.ForeignKeyConstraint(
            ["meter_id"], ["meters.id"], name=op.f("fk_gateway_relay_commands_meter_id_meters")
        ),
        sa.ForeignKeyConstraint(
            ["gateway_id"], ["gateways.id"], name=op.f("fk_gateway_relay_commands_gateway_id_gateways")
        ),
        sa.ForeignKeyConstraint(
            ["estate_id"], ["estates.id"], name=op.f("fk_gateway_relay_commands_estate_id_estates")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_user_id"],
            ["auth_users.id"],
            name=op.f("fk_gateway_relay_commands_requested_by_user_id_auth_users"),
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["auth_api_keys.id"],
            name=op.f("fk_gateway_relay_commands_api_key_id_auth_api_keys"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_relay_commands")),
        sa.UniqueConstraint("command_id", name=op.f("uq_gateway_relay_commands_command_id")),
        sa.UniqueConstraint("meter_id", "idempotency_key", name=op.f("uq_gateway_relay_commands_meter_id")),
    )
    op.create_index(
        "ix_gateway_relay_states_command", "gateway_relay_states", ["gateway_id", "command_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_gateway_relay_states_command", table_name="gateway_relay_states")
    op.drop_table("gateway_relay_commands")
    op.drop_index(op.f("ix_auth_password_resets_user_id"), table_name="auth_password_resets")
    op.drop_table("auth_password_resets")

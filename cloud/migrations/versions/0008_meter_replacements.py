"""Meter replacements: the serial a metering point had and has, and the installer's readings.

``POST /api/v1/meters/{id}/replacement`` changes the meter's serial and records the swap here;
the latest replacement to the meter's serial gives the gateway's config document the readings
the installer took off the two displays.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 06:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "meter_replacements",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("meter_id", sa.BigInteger(), nullable=False),
        sa.Column("old_serial", sa.Text(), nullable=False),
        sa.Column("new_serial", sa.Text(), nullable=False),
        sa.Column("old_meter_final_reading", sa.Numeric(), nullable=True),
        sa.Column("new_meter_first_reading", sa.Numeric(), nullable=True),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_by_user_id", sa.BigInteger(), nullable=True),
        sa.Column("recorded_by_role", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("old_serial <> new_serial", name=op.f("ck_meter_replacements_serial_changes")),
        sa.CheckConstraint(
            "old_meter_final_reading >= 0", name=op.f("ck_meter_replacements_old_meter_final_reading")
        ),
        sa.CheckConstraint(
            "new_meter_first_reading >= 0", name=op.f("ck_meter_replacements_new_meter_first_reading")
        ),
        sa.ForeignKeyConstraint(
            ["meter_id"], ["meters.id"], name=op.f("fk_meter_replacements_meter_id_meters")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_user_id"],
            ["auth_users.id"],
            name=op.f("fk_meter_replacements_recorded_by_user_id_auth_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meter_replacements")),
    )
    op.create_index(op.f("ix_meter_replacements_meter_id"), "meter_replacements", ["meter_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_meter_replacements_meter_id"), table_name="meter_replacements")
    op.drop_table("meter_replacements")

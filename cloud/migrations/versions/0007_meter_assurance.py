"""Revenue assurance from readings: the cloud's own billing state per gateway meter.

``gateway_assurance_meters`` holds, per (gateway, meter), the register baseline, month-to-date and
sub-cent carry the cloud derives from the stored readings, and the reading whose charges may still
arrive in the gateway's next batch (``open_seq``). Intake reads and writes it once per batch.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 06:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gateway_assurance_meters",
        sa.Column("gateway_id", sa.BigInteger(), nullable=False),
        sa.Column("meter_id", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("open_seq", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["gateway_id"], ["gateways.id"], name=op.f("fk_gateway_assurance_meters_gateway_id_gateways")
        ),
        sa.PrimaryKeyConstraint("gateway_id", "meter_id", name=op.f("pk_gateway_assurance_meters")),
    )


def downgrade() -> None:
    op.drop_table("gateway_assurance_meters")

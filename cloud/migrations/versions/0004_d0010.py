"""D0010 flows: files, MPAN cores, meters, register readings, and MPAN → estate links.

Branches from 0001 beside the other contexts' revisions; its tables refer only to 0001's
``estates`` and ``meters``, so the branches apply in any order.

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-22 04:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the D0010 tables."""
    _files()
    op.create_table(
        "d0010_mpans",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("mpan_core", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_d0010_mpans")),
        sa.UniqueConstraint("mpan_core", name="uq_d0010_mpans_mpan_core"),
    )
    op.create_table(
        "d0010_meters",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("mpan_ref", sa.BigInteger(), nullable=False),
        sa.Column("meter_id", sa.Text(), nullable=False),
        # No foreign key, as for readings below: 250,000 RI checks cost a second of a big import.
        sa.PrimaryKeyConstraint("id", name=op.f("pk_d0010_meters")),
        sa.UniqueConstraint("mpan_ref", "meter_id", name="uq_d0010_meters_mpan_meter"),
    )
    _readings()
    op.create_table(
        "d0010_mpan_links",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("mpan_ref", sa.BigInteger(), nullable=False),
        sa.Column("estate_id", sa.BigInteger(), nullable=False),
        sa.Column("bulk_meter_id", sa.BigInteger(), nullable=True),
        sa.Column("linked_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["mpan_ref"], ["d0010_mpans.id"], name=op.f("fk_d0010_mpan_links_mpan_ref_d0010_mpans")
        ),
        sa.ForeignKeyConstraint(
            ["estate_id"], ["estates.id"], name=op.f("fk_d0010_mpan_links_estate_id_estates")
        ),
        sa.ForeignKeyConstraint(
            ["bulk_meter_id"], ["meters.id"], name=op.f("fk_d0010_mpan_links_bulk_meter_id_meters")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_d0010_mpan_links")),
        sa.UniqueConstraint("mpan_ref", name="uq_d0010_mpan_links_mpan_ref"),
    )
    op.create_index(op.f("ix_d0010_mpan_links_estate_id"), "d0010_mpan_links", ["estate_id"], unique=False)


def _files() -> None:
    op.create_table(
        "d0010_files",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("file_id", sa.Text(), nullable=False),
        sa.Column("from_role", sa.Text(), nullable=False),
        sa.Column("from_participant", sa.Text(), nullable=False),
        sa.Column("to_role", sa.Text(), nullable=False),
        sa.Column("to_participant", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("test_flag", sa.Text(), nullable=False),
        sa.Column("is_test", sa.Boolean(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("mpans", sa.Integer(), nullable=False),
        sa.Column("readings", sa.Integer(), nullable=False),
        sa.Column("readings_stored", sa.Integer(), nullable=False),
        sa.Column("errors_total", sa.Integer(), nullable=False),
        sa.Column("warnings_total", sa.Integer(), nullable=False),
        sa.Column("report", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("imported_by_user_id", sa.BigInteger(), nullable=True),
        sa.Column("imported_by_role", sa.Text(), nullable=False),
        sa.Column("source_address", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('imported', 'partial', 'rejected', 'duplicate')", name=op.f("ck_d0010_files_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_d0010_files")),
        sa.UniqueConstraint("from_role", "from_participant", "file_id", name="uq_d0010_files_sender_file_id"),
        sa.UniqueConstraint("sha256", name="uq_d0010_files_sha256"),
    )


def _readings() -> None:
    op.create_table(
        "d0010_readings",
        sa.Column("meter_ref", sa.BigInteger(), nullable=False),
        sa.Column("register_id", sa.Text(), nullable=False),
        sa.Column("reading_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("register_reading", sa.Numeric(precision=9, scale=1), nullable=False),
        sa.Column("reading_type", sa.Text(), nullable=False),
        sa.Column("bsc_validation_status", sa.Text(), nullable=False),
        sa.Column("md_reset_at", sa.DateTime(timezone=False), nullable=True),
        sa.Column("md_reset_count", sa.SmallInteger(), nullable=True),
        sa.Column("meter_reading_flag", sa.Boolean(), nullable=True),
        sa.Column("reading_method", sa.Text(), nullable=False),
        sa.Column("reason_code", sa.Text(), nullable=True),
        sa.Column("reading_status", sa.Boolean(), nullable=True),
        sa.Column("file_ref", sa.BigInteger(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        # No foreign keys here: per-row RI checks cost more than the rest of a bulk insert, and the
        # one writer (storage.py) takes meter_ref and file_ref from joins in the same transaction.
        sa.PrimaryKeyConstraint("meter_ref", "register_id", "reading_at", name=op.f("pk_d0010_readings")),
    )
    # A file's readings are inserted together, so a BRIN index finds them at almost no write cost.
    op.create_index("ix_d0010_readings_file_ref", "d0010_readings", ["file_ref"], postgresql_using="brin")


def downgrade() -> None:
    """Drop the D0010 tables."""
    op.drop_index(op.f("ix_d0010_mpan_links_estate_id"), table_name="d0010_mpan_links")
    op.drop_table("d0010_mpan_links")
    op.drop_index("ix_d0010_readings_file_ref", table_name="d0010_readings")
    op.drop_table("d0010_readings")
    op.drop_table("d0010_meters")
    op.drop_table("d0010_mpans")
    op.drop_table("d0010_files")

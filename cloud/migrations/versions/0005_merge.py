"""Join the branches developed side by side: access (0002), sync (0003) and D0010 (0004).

Each branch created only its own tables, so joining them needs no schema change; from here on
the history is linear again.

Revision ID: 0005
Revises: 0002, 0003, 0004
"""

from __future__ import annotations

revision: str = "0005"
down_revision: tuple[str, ...] = ("0002", "0003", "0004")
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Nothing to change: the merge only records that every branch is applied."""


def downgrade() -> None:
    """Nothing to undo."""

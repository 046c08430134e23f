"""``quantify-cloud migrate``: bring the database schema up to date (safe to run again)."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from alembic import command
from alembic.config import Config

from cloud.settings import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``migrate`` to ``quantify-cloud``."""
    migrate = subparsers.add_parser(
        "migrate",
        help="upgrade the database schema to the latest revision (idempotent)",
        description="Apply every pending Alembic migration to DATABASE_URL (or the embedded PostgreSQL).",
    )
    migrate.set_defaults(handler=run_migrate)


def run_migrate(args: argparse.Namespace) -> int:
    """Resolve the database from the settings and upgrade it to head."""
    from cloud.database.server import database_url

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    upgrade_to_head(database_url(Settings.from_env(os.environ)))
    return 0


def alembic_config(libpq_url: str) -> Config:
    """An Alembic configuration for this database, without needing an ``alembic.ini`` file."""

    from cloud.database.server import sqlalchemy_url

    url = sqlalchemy_url(libpq_url).render_as_string(hide_password=False)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser treats % as interpolation; a password may contain one.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_to_head(libpq_url: str) -> None:
    """Apply every pending migration; a database already at head is left unchanged.

    ``heads``: contexts developed side by side may each branch from the same revision; every branch
    is applied (their tables are independent) until a merge revision joins them.
    """
    command.upgrade(alembic_config(libpq_url), "heads")
    log.info("database schema is at the latest revision")

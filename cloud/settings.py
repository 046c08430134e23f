"""The cloud's one settings object, read from the environment once at start-up.

Nothing else in ``cloud/`` reads ``os.environ``: the entrypoints build a :class:`Settings` and pass
it down.

| variable | meaning | default |
|---|---|---|
| ``DATABASE_URL`` | PostgreSQL server (``postgresql://user:pass@host/db``) | embedded, under the data dir |
| ``QUANTIFY_DATA_DIR`` | where embedded PostgreSQL and local files live | ``./var/cloud`` |
| ``QUANTIFY_BROKER_URL`` | dramatiq broker: ``redis://…`` or ``amqp://…`` | in-process broker |
| ``QUANTIFY_HOST`` / ``QUANTIFY_PORT`` | where ``serve`` listens | ``127.0.0.1`` / ``8000`` |
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


class SettingsError(ValueError):
    """An environment variable with a value the cloud cannot use."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the cloud's deployables need to know about their environment."""

    database_url: str | None
    data_dir: Path
    broker_url: str | None
    host: str
    port: int

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read the settings from an environment mapping (``os.environ`` in production)."""
        return cls(
            database_url=env.get("DATABASE_URL") or None,
            data_dir=Path(env.get("QUANTIFY_DATA_DIR", "var/cloud")),
            broker_url=env.get("QUANTIFY_BROKER_URL") or None,
            host=env.get("QUANTIFY_HOST", "127.0.0.1"),
            port=_port(env.get("QUANTIFY_PORT", "8000")),
        )


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise SettingsError(f"QUANTIFY_PORT: expected a TCP port number 1-65535, got {text!r}")
    return int(text)

"""The state the page's handlers share: the daemon's control, sessions, limiter and actions."""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass, field

from edge_agent.web.actions import InstallerActions
from edge_agent.web.auth import InstallerSessions, LoginLimiter
from edge_agent.web.control import GatewayControl

SESSION_COOKIE = "quantify_installer"


class InstallerAccess(enum.StrEnum):
    """What the installer part of the page offers this visitor."""

    DISABLED = "disabled"  # no password configured
    LOGGED_OUT = "logged_out"
    LOGGED_IN = "logged_in"


@dataclass
class WebContext:
    """Everything a handler needs; one per app."""

    control: GatewayControl
    password_hash: str | None
    sessions: InstallerSessions | None
    limiter: LoginLimiter
    actions: InstallerActions
    refresh_s: int
    cookie_secure: bool
    # Logins are checked one at a time so that parallel guesses cannot all run before the
    # limiter has counted the first failures (and so scrypt never runs N-fold on the Pi).
    login_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def access(self, cookie: str | None) -> InstallerAccess:
        """Whether this visitor may use the installer actions."""
        if self.sessions is None:
            return InstallerAccess.DISABLED
        if self.sessions.is_valid(cookie):
            return InstallerAccess.LOGGED_IN
        return InstallerAccess.LOGGED_OUT

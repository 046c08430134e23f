"""Installer sessions and the failed-login limiter, both held in memory and bounded.

A session is a signed cookie value ``<session id>.<expiry unix s>.<HMAC-SHA256 hex>`` whose id
must also be in the server's small registry: the signature stops forgery, the registry lets a
logout end the session at once instead of when the cookie expires. The signing key is derived
from the session secret *and* the stored password hash, so changing the installer password ends
every open session. A daemon restart (new secret, empty registry) ends them too, which is fine
for a page an installer uses for minutes at a time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import deque
from collections.abc import Callable

SESSION_SECRET_BYTES_MIN = 16


class InstallerSessions:
    """Issue, check and end installer sessions."""

    def __init__(
        self,
        session_secret: bytes,
        password_hash: str,
        *,
        max_age_s: int,
        sessions_max: int = 16,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if len(session_secret) < SESSION_SECRET_BYTES_MIN:
            raise ValueError(f"session_secret must be at least {SESSION_SECRET_BYTES_MIN} random bytes")
        self._key = hmac.new(
            session_secret, b"installer-session\0" + password_hash.encode(), "sha256"
        ).digest()
        self.max_age_s = max_age_s
        self._sessions_max = sessions_max
        self._clock = clock
        self._expiry_by_id: dict[str, int] = {}

    def _sign(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()

    def issue(self) -> str:
        """Start a session; the cookie value to send."""
        now = self._clock()
        self._forget_expired(now)
        if len(self._expiry_by_id) >= self._sessions_max:
            # Bounded: the session closest to expiry gives way to the newest login.
            del self._expiry_by_id[min(self._expiry_by_id, key=self._expiry_by_id.__getitem__)]
        session_id = secrets.token_hex(16)
        expires = int(now) + self.max_age_s
        self._expiry_by_id[session_id] = expires
        payload = f"{session_id}.{expires}"
        return f"{payload}.{self._sign(payload)}"

    def _session_id(self, cookie: str | None) -> str | None:
        parts = (cookie or "").split(".")
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        session_id, expires, signature = parts
        if not hmac.compare_digest(signature, self._sign(f"{session_id}.{expires}")):
            return None
        if int(expires) <= self._clock() or self._expiry_by_id.get(session_id) != int(expires):
            return None
        return session_id

    def is_valid(self, cookie: str | None) -> bool:
        """True if the cookie is one this gateway issued, unexpired and not logged out."""
        return self._session_id(cookie) is not None

    def end(self, cookie: str | None) -> None:
        """Log out: the cookie stops working even if someone kept a copy."""
        session_id = self._session_id(cookie)
        if session_id is not None:
            del self._expiry_by_id[session_id]

    def _forget_expired(self, now: float) -> None:
        for session_id in [s for s, expires in self._expiry_by_id.items() if expires <= now]:
            del self._expiry_by_id[session_id]


class LoginLimiter:
    """Refuse logins after too many recent failures, per client address and in total.

    Per address stops one guesser; the total ceiling stops a guesser who hops addresses on the
    estate's LAN, at the price of locking the real installer out for one window in that case.
    """

    def __init__(
        self,
        *,
        failures_per_client_max: int = 5,
        failures_total_max: int = 20,
        window_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._per_client_max = failures_per_client_max
        self._total_max = failures_total_max
        self._window_s = window_s
        self._clock = clock
        self._failures: deque[tuple[float, str]] = deque(maxlen=failures_total_max)

    def _prune(self, now: float) -> None:
        while self._failures and self._failures[0][0] <= now - self._window_s:
            self._failures.popleft()

    def retry_after_s(self, client: str) -> int | None:
        """Seconds until this client may try again, or ``None`` if it may try now."""
        now = self._clock()
        self._prune(now)
        mine = [at for at, who in self._failures if who == client]
        if len(mine) >= self._per_client_max:
            oldest = mine[-self._per_client_max]
        elif len(self._failures) >= self._total_max:
            oldest = self._failures[0][0]
        else:
            return None
        return max(1, int(oldest + self._window_s - now + 0.999))

    def attempts_left(self, client: str) -> int:
        """Failures this client may still make before it is refused."""
        self._prune(self._clock())
        mine = sum(1 for _, who in self._failures if who == client)
        return max(0, min(self._per_client_max - mine, self._total_max - len(self._failures)))

    def record_failure(self, client: str) -> None:
        """Count one wrong password from this client."""
        now = self._clock()
        self._prune(now)
        self._failures.append((now, client))

    def forget(self, client: str) -> None:
        """A correct password clears the client's own failures (not other clients')."""
        kept = [(at, who) for at, who in self._failures if who != client]
        self._failures.clear()
        self._failures.extend(kept)

"""The installer's password: stored only as a scrypt hash, compared in constant time.

The stored form is ``scrypt$<n>$<r>$<p>$<salt hex>$<hash hex>`` (the form ``edge.toml``
documents for ``[web] installer_password_hash``). The cost parameters travel with the hash, so a
gateway can verify hashes made with other costs; they are bounded on the way in so that a
mistyped configuration cannot ask a Raspberry Pi for gigabytes of memory.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from edge_agent.errors import ConfigError

# n=2**14, r=8 costs 16 MiB and ~0.1 s on a Raspberry Pi 4: slow for a guesser, quick for a person.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
KEY_BYTES = 32
PASSWORD_CHARS_MIN = 8
PASSWORD_CHARS_MAX = 1024
_N_MAX = 2**20
_R_MAX = 32
_P_MAX = 16
_MAXMEM_BYTES = 256 * 1024 * 1024
_WHERE = "[web] installer_password_hash"


@dataclass(frozen=True, slots=True)
class PasswordHash:
    """A parsed stored hash."""

    n: int
    r: int
    p: int
    salt: bytes
    key: bytes


def _derive(password: str, *, n: int, r: int, p: int, salt: bytes, key_bytes: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM_BYTES, dklen=key_bytes
    )


def hash_password(password: str) -> str:
    """Hash an installer password for ``edge.toml`` (``quantify-provision hash-password``).

    Raises ``ValueError`` with a message for the person choosing the password when it is shorter
    than 8 or longer than 1024 characters.
    """
    if len(password) < PASSWORD_CHARS_MIN:
        raise ValueError(f"the installer password must have at least {PASSWORD_CHARS_MIN} characters")
    if len(password) > PASSWORD_CHARS_MAX:
        raise ValueError(f"the installer password must have at most {PASSWORD_CHARS_MAX} characters")
    salt = secrets.token_bytes(SALT_BYTES)
    key = _derive(password, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, salt=salt, key_bytes=KEY_BYTES)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${key.hex()}"


def _bounded(text: str, name: str, high: int) -> int:
    if not text.isdigit() or not 1 <= int(text) <= high:
        raise ConfigError(f"{_WHERE}: {name} must be a whole number from 1 to {high}, got {text!r}")
    return int(text)


def parse_password_hash(stored: str) -> PasswordHash:
    """Parse a stored hash, or raise ``ConfigError`` saying what is wrong with it.

    The message never repeats the stored value: it is a secret-derived string.
    """
    parts = stored.strip().split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise ConfigError(
            f"{_WHERE}: expected scrypt$<n>$<r>$<p>$<salt hex>$<hash hex> as printed by "
            "`quantify-provision hash-password`"
        )
    n = _bounded(parts[1], "n", _N_MAX)
    if n < 2 or n & (n - 1):
        raise ConfigError(f"{_WHERE}: n must be a power of two, got {n}")
    r = _bounded(parts[2], "r", _R_MAX)
    p = _bounded(parts[3], "p", _P_MAX)
    try:
        salt, key = bytes.fromhex(parts[4]), bytes.fromhex(parts[5])
    except ValueError:
        raise ConfigError(f"{_WHERE}: the salt and the hash must be hexadecimal") from None
    if len(salt) < 8 or len(key) < 16:
        raise ConfigError(f"{_WHERE}: the salt or the hash is too short to be one this tool made")
    return PasswordHash(n=n, r=r, p=p, salt=salt, key=key)


def verify_password(password: str, stored: str) -> bool:
    """True if ``password`` matches the stored hash; ``ConfigError`` if the hash is malformed.

    A malformed hash is a configuration fault, not a wrong password, so it is not folded into
    ``False``: the installer should be told to fix ``edge.toml`` rather than to retype.
    """
    parsed = parse_password_hash(stored)
    if len(password) > PASSWORD_CHARS_MAX:
        return False
    candidate = _derive(
        password, n=parsed.n, r=parsed.r, p=parsed.p, salt=parsed.salt, key_bytes=len(parsed.key)
    )
    return hmac.compare_digest(candidate, parsed.key)

"""Password hashing: scrypt with a random salt per password, compared in constant time.

Stored as ``scrypt$<n>$<r>$<p>$<salt hex>$<hash hex>`` so the cost can be raised later without
invalidating existing hashes (each hash carries the parameters it was made with).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from cloud.errors import ValidationFailed

#: scrypt cost: 2^14 x 8 x 1 takes ~16 MiB and tens of milliseconds, OWASP's minimum for scrypt.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
HASH_BYTES = 32
PASSWORD_MIN_CHARS = 10
PASSWORD_MAX_CHARS = 256


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password`` in the self-describing stored form."""
    check_password_rules(password)
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches the stored hash (constant-time; a malformed hash never matches)."""
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt" or len(password) > PASSWORD_MAX_CHARS:
            return False
        digest = _scrypt(password, bytes.fromhex(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(digest, bytes.fromhex(expected))


def dummy_verify(password: str) -> None:
    """Spend the time a real check takes, so an unknown email answers as slowly as a wrong password."""
    _scrypt(password[:PASSWORD_MAX_CHARS], b"\0" * 16, SCRYPT_N, SCRYPT_R, SCRYPT_P)


def check_password_rules(password: str) -> None:
    """Refuse passwords too short to resist guessing, or long enough to be a denial of service."""
    if not PASSWORD_MIN_CHARS <= len(password) <= PASSWORD_MAX_CHARS:
        raise ValidationFailed(
            f"password: expected {PASSWORD_MIN_CHARS} to {PASSWORD_MAX_CHARS} characters, "
            f"got {len(password)}; a passphrase of a few words is easy to remember"
        )


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=HASH_BYTES
    )

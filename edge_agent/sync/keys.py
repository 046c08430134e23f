"""The gateway's Ed25519 key: made at enrolment, kept in a file only its owner can read, used to sign.

The private key never leaves its file except into memory; it is never logged or printed (this
module's objects do not show it in ``repr``). The file is PKCS#8 PEM, mode 0600, written to a
temporary file in the same folder and renamed, so a crash never leaves half a key behind.
"""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from edge_agent.sync.errors import SyncClientError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

# ``cryptography`` is imported where a key is made or read, not here: a gateway without a
# ``[cloud]`` section never needs it, and its bindings cost several MiB of the agent's memory.

KEY_FILE_MODE = 0o600


class GatewayKey:
    """A loaded signing key; ``public_key_b64`` is what enrolment sends to the cloud."""

    def __init__(self, private_key: Ed25519PrivateKey, path: Path) -> None:
        self._private_key = private_key
        self.path = path

    def __repr__(self) -> str:
        return f"GatewayKey(path={str(self.path)!r}, public_key={self.public_key_b64!r})"

    @property
    def public_key_b64(self) -> str:
        """The raw 32-byte public key, standard base64 (44 characters)."""
        from cryptography.hazmat.primitives import serialization

        raw = self._private_key.public_key().public_bytes(
            encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw
        )
        return base64.b64encode(raw).decode("ascii")

    def sign(self, payload: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``payload``."""
        return self._private_key.sign(payload)


def new_key(path: Path) -> GatewayKey:
    """A new key, in memory only, to be kept at ``path`` by :func:`save_key` once the cloud took it.

    Enrolment saves the key only after the cloud accepted it, so a failed re-enrolment leaves the
    gateway with its old, still valid key.
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return GatewayKey(Ed25519PrivateKey.generate(), path)


def generate_key(path: Path) -> GatewayKey:
    """Make a new key and write it to ``path`` (mode 0600), replacing any key there."""
    key = new_key(path)
    save_key(key)
    return key


def save_key(key: GatewayKey) -> None:
    """Write ``key`` to its path as PKCS#8 PEM, mode 0600, atomically (temporary file, rename)."""
    from cryptography.hazmat.primitives import serialization

    pem = key._private_key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )
    path = key.path
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.new")
    temporary.unlink(missing_ok=True)
    # O_EXCL with the mode: the key is never, even for an instant, readable by anyone else.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
    try:
        os.write(descriptor, pem)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temporary, path)


def load_key(path: Path) -> GatewayKey:
    """Read the key at ``path``; refuse a file that others can read (the key would be compromised)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        data = path.read_bytes()
    except OSError as error:
        raise SyncClientError(
            f"{path}: cannot read the gateway's key ({error.strerror}); enrol the gateway first"
        ) from None
    if mode & 0o077:
        raise SyncClientError(
            f"{path}: the gateway's key is readable by others (mode {mode:o}); run chmod 600 on it, "
            "or re-enrol if it may have been copied"
        )
    try:
        private_key = serialization.load_pem_private_key(data, password=None)
    except ValueError:
        raise SyncClientError(f"{path}: not a PEM private key; re-enrol to make a new one") from None
    if not isinstance(private_key, Ed25519PrivateKey):
        raise SyncClientError(f"{path}: expected an Ed25519 key, found {type(private_key).__name__}")
    return GatewayKey(private_key, path)

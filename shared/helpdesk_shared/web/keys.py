"""Token signing keys (CONTRACT §2): Ed25519 private keys in a directory, one PEM file per key.

The file name without ``.pem`` is the key id (``kid``). The key named in the directory's
``active`` file signs, else the one whose name sorts last; every key in the directory is
published in the JWK set (RFC 7517/8037), so tokens signed before a rotation keep
verifying until their key file is removed. The directory is re-read when it changes, so
a rotation needs no restart (a Kubernetes Secret mounted as a directory updates in place).
"""

from __future__ import annotations

import base64
import logging
import secrets
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ACTIVE_FILE = "active"
RESCAN_SECONDS = 1.0  # how stale the directory listing may be: one stat per key per second at most
log = logging.getLogger("helpdesk.keys")


class KeyDirectoryError(Exception):
    """The key directory holds no usable Ed25519 key, or a file that is not one."""


@dataclass(frozen=True)
class KeySet:
    """The keys of one reading of the directory: which one signs, and every public key by kid."""

    active_kid: str
    private: dict[str, Ed25519PrivateKey]

    @property
    def signer(self) -> Ed25519PrivateKey:
        return self.private[self.active_kid]

    @cached_property
    def publics(self) -> dict[str, Ed25519PublicKey]:
        """The public keys by kid, derived once per reading: one object per key, as a token cache needs."""
        return {kid: key.public_key() for kid, key in self.private.items()}

    def public(self, kid: str) -> Ed25519PublicKey | None:
        return self.publics.get(kid)

    def jwks(self) -> dict[str, Any]:
        """The RFC 7517 JWK set of the public keys: never a private part."""
        return {"keys": [public_jwk(kid, key.public_key()) for kid, key in sorted(self.private.items())]}


def public_jwk(kid: str, key: Ed25519PublicKey) -> dict[str, str]:
    """One Ed25519 public key as an RFC 8037 OKP JWK."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "use": "sig", "alg": "EdDSA"}


def read_key_set(directory: Path) -> KeySet:
    """Every ``*.pem`` in ``directory``; a file that is not an Ed25519 private key is an error."""
    private = {}
    for path in sorted(directory.glob("*.pem")):
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyDirectoryError(f"{path}: not an Ed25519 private key")
        private[path.stem] = key
    if not private:
        raise KeyDirectoryError(f"{directory}: no *.pem signing key (helpdesk-dev up generates one)")
    chosen = directory / ACTIVE_FILE
    active = chosen.read_text().strip() if chosen.exists() else max(private)
    if active not in private:
        raise KeyDirectoryError(f"{chosen}: names {active!r}, which is not a key in the directory")
    return KeySet(active, private)


def generate_key(directory: Path, kid: str | None = None) -> str:
    """Write a new Ed25519 private key (mode 0600) as ``<kid>.pem``; its kid."""
    kid = kid or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)
    directory.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path = directory / f"{kid}.pem"
    path.touch(mode=0o600)
    path.write_bytes(pem)
    return kid


class KeyRing:
    """intake's keys, following the directory: a changed listing is read again, a broken one ignored."""

    def __init__(self, directory: str | Path) -> None:
        self._directory = Path(directory)
        self._keys = read_key_set(self._directory)
        self._seen = self._listing()
        self._scanned = time.monotonic()

    def current(self) -> KeySet:
        """The keys as the directory holds them now (looked at once a second at most)."""
        if time.monotonic() - self._scanned >= RESCAN_SECONDS:
            self._scanned = time.monotonic()
            listing = self._listing()
            if listing != self._seen:
                try:
                    self._keys = read_key_set(self._directory)
                    self._seen = listing
                    log.info("signing keys reloaded: %s signs, %d published",
                             self._keys.active_kid, len(self._keys.private))
                except (OSError, ValueError, KeyDirectoryError) as error:
                    log.warning("signing keys not reloaded, keeping the previous set: %s", error)
        return self._keys

    async def key(self, kid: str) -> Ed25519PublicKey | None:
        """A verifier's view (``KeySource``): intake verifies with its own public keys."""
        return self.current().public(kid)

    def _listing(self) -> tuple[tuple[str, int], ...]:
        try:
            return tuple(sorted((p.name, p.stat().st_mtime_ns) for p in self._directory.iterdir()))
        except OSError:
            return ()

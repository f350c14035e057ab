"""Password hashing: argon2id at a configured cost; older hashes still verify and are replaced.

New hashes are argon2id in the PHC string format (``$argon2id$v=19$m=…,t=…,p=…$salt$hash``)
with the cost from the settings: by default OWASP's recommended minimum (Password Storage
Cheat Sheet: 19 MiB of memory, 2 iterations, 1 degree of parallelism). The desk's first
scheme, ``scrypt$N$r$p$salt$digest`` (N=2^14, below OWASP's scrypt minimum), and argon2
hashes of another cost or variant still verify; ``needs_rehash`` tells the login to
store a fresh hash once it has the password in hand.

Each hash holds ``memory_kib`` for its duration, so at most ``concurrency`` run at once
per process: a burst of logins queues here instead of multiplying the memory it takes
(40 request threads × 19 MiB would overrun a 512 MiB pod).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from dataclasses import dataclass

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

LEGACY_SCRYPT = "scrypt$"


@dataclass(frozen=True)
class PasswordCost:
    """argon2id's cost: memory in KiB, iterations, lanes (OWASP's minimum by default), and how
    many hashes a process computes at once."""

    memory_kib: int = 19_456
    time_cost: int = 2
    parallelism: int = 1
    concurrency: int = 4


class Passwords:
    """Hashes with argon2id at ``cost``; verifies that and every older scheme of the desk."""

    def __init__(self, cost: PasswordCost) -> None:
        self._hasher = argon2.PasswordHasher(time_cost=cost.time_cost, memory_cost=cost.memory_kib,
                                             parallelism=cost.parallelism, type=argon2.Type.ID)
        self._slots = threading.BoundedSemaphore(cost.concurrency)
        self._decoy = self.hash("not anyone's password")

    def hash(self, password: str) -> str:
        with self._slots:
            return self._hasher.hash(password)

    def verify(self, password: str, stored: str | None) -> bool:
        """Whether ``password`` matches ``stored``; with no stored hash, spends the same time and says no."""
        if stored is None:
            self._argon2(password, self._decoy)  # an unknown login answers as slowly as a known one
            return False
        if stored.startswith(LEGACY_SCRYPT):
            with self._slots:
                return _scrypt_matches(password, stored)
        return self._argon2(password, stored)

    def needs_rehash(self, stored: str) -> bool:
        """Whether ``stored`` is of an older scheme, variant or cost than new hashes."""
        if stored.startswith(LEGACY_SCRYPT):
            return True
        try:
            return self._hasher.check_needs_rehash(stored)
        except (InvalidHashError, ValueError):
            return True

    def _argon2(self, password: str, stored: str) -> bool:
        try:
            with self._slots:
                return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False


def _scrypt_matches(password: str, stored: str) -> bool:
    """The desk's first scheme: ``scrypt$N$r$p$salt$digest``, salt and digest in base64."""
    try:
        _scheme, n, r, p, salt, digest = stored.split("$")
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, base64.b64decode(digest))

"""Verified token claims, kept until the token expires, so a caller's every request skips the signature check.

An EdDSA verification and PyJWT's parsing cost about a tenth of a millisecond per request,
every request of a session carrying the same token. ``VerifiedTokens`` maps a token's exact
text to the principal its claims named when its signature held, with the key that verified
it and its ``exp``. A hit still needs that same key object to be the one the key source gives
for the kid now (a removed or replaced key stops verifying as before), and the revocation
check runs on every request, hit or not. The directory's facts clear the whole map
(``Authenticator.watch``), so nothing revoked outlives the fact that revoked it, whatever a
later check would say. Bounded: past ``max_entries`` the oldest entries go first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from helpdesk_shared.web.auth import Principal

MAX_ENTRIES = 10_000  # tokens live an hour: a few thousand sessions fit, a flood of new tokens only cycles


@dataclass(frozen=True)
class Verified:
    """What a token's verification established: who it names, by which key, until when."""

    principal: Principal
    kid: str
    key: Any
    expires: float  # the ``exp`` claim, Unix seconds


class VerifiedTokens:
    """Token text → its ``Verified`` claims, until ``exp`` (by ``clock``, the wall clock PyJWT uses too)."""

    def __init__(self, max_entries: int = MAX_ENTRIES, clock: Callable[[], float] = time.time) -> None:
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[str, Verified] = {}

    def get(self, token: str) -> Verified | None:
        """The token's verified claims while it has not expired, else None (and forgotten)."""
        entry = self._entries.get(token)
        if entry is not None and self._clock() >= entry.expires:
            del self._entries[token]
            return None
        return entry

    def put(self, token: str, verified: Verified) -> None:
        while len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]
        self._entries[token] = verified

    def clear(self) -> None:
        """Forget every token (a directory fact came: a block, a password change, a contract's end…)."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

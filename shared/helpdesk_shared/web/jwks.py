"""The verification keys of intake's ``GET /v1/auth/jwks``, as every other service holds them.

Fetched on first use, fetched again when older than ``refresh_seconds`` (a removed key
stops verifying within that time) and when a token names a kid not seen yet (a new key
verifies at once), but never more often than once per ``min_interval`` seconds, so a
stream of tokens with made-up kids costs intake nothing. PyJWT's ``PyJWKClient`` does
the same with blocking urllib; this one is async (httpx) and opens its client lazily, once
per event loop: a new client per refresh built an SSL context each time, a stall of the
service's loop every ``refresh_seconds``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
import jwt

from helpdesk_shared.settings import CommonSettings
from helpdesk_shared.web.auth import Authenticator
from helpdesk_shared.web.problems import Problem

log = logging.getLogger("helpdesk.jwks")


class JwksClient:
    """A cached JWK set fetched from ``url``: ``await key(kid)`` → the public key or None."""

    def __init__(self, url: str, refresh_seconds: float = 60.0, min_interval: float = 1.0,
                 timeout: float = 3.0) -> None:
        self.url, self.refresh_seconds, self.min_interval, self.timeout = url, refresh_seconds, min_interval, timeout
        self._keys: dict[str, Any] = {}
        self._fetched: float | None = None  # monotonic time of the last successful fetch
        self._tried = float("-inf")  # monotonic time of the last attempt, successful or not
        self._lock = asyncio.Lock()
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def key(self, kid: str) -> Any | None:
        """The key with ``kid``; 503 ``not_ready`` when intake never answered with a key set."""
        stale = self._fetched is None or time.monotonic() - self._fetched >= self.refresh_seconds
        if stale or kid not in self._keys:
            await self._refresh()
        if self._fetched is None:
            raise Problem(503, "not_ready", f"the token verification keys are not available yet ({self.url})")
        return self._keys.get(kid)

    async def _refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self._tried < self.min_interval:
                return
            self._tried = time.monotonic()
            try:
                response = await self._http().get(self.url)
                response.raise_for_status()
                self._keys = parse_jwks(response.json())
                self._fetched = time.monotonic()
            except (httpx.HTTPError, ValueError, KeyError, TypeError, jwt.PyJWTError) as error:
                log.warning("JWKS %s not refreshed, keeping %d known keys: %s", self.url, len(self._keys), error)

    def _http(self) -> httpx.AsyncClient:
        """The client of the running loop, made on first use (a client is bound to the loop it ran on)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client, self._loop = httpx.AsyncClient(timeout=self.timeout), loop
        return self._client


def parse_jwks(document: Any) -> dict[str, Any]:
    """The EdDSA signing keys of a JWK set by kid; other keys are left out."""
    keys = {}
    for entry in document["keys"]:
        if entry.get("kid") and entry.get("alg", "EdDSA") == "EdDSA" and entry.get("use", "sig") == "sig":
            keys[entry["kid"]] = jwt.PyJWK(entry, algorithm="EdDSA").key
    return keys


def remote_authenticator(settings: CommonSettings) -> Authenticator:
    """A service's token verifier: intake's published keys, the static admin and service tokens, and the
    revocations its lifespan keeps current (``helpdesk_shared.web.revocation.following_revocations``)."""
    keys = JwksClient(settings.verification_keys_url(), settings.jwks_refresh_seconds)
    return Authenticator(keys, settings.admin_token, settings.service_token)

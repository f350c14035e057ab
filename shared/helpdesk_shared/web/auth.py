"""Bearer tokens and roles (CONTRACT §2): intake issues JWTs, every service verifies them.

A token carries the user id, the role and, for a customer's employee, the
customer id. It is signed with EdDSA (Ed25519) by a key only intake holds, and
names that key in its ``kid`` header; verifiers take the public keys from intake's
JWK set (``helpdesk_shared.web.jwks``), intake from its own key ring. Two static
bearer tokens exist besides: ``HELPDESK_ADMIN_TOKEN`` for provisioning and
``HELPDESK_SERVICE_TOKEN``, with which the SLA service sends its automatic commands.

A user's token also names its session (``sid``), when the user signed in
(``auth_time``: a refresh keeps it, so sessions slide up to a maximum) and the user's
``ses`` counter when it was issued: blocking, deactivating or a new password raise the
counter, and ``Revocations`` (helpdesk_shared.web.revocation) refuses lower ones.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass
from typing import Any, Protocol

import jwt
from litestar import Request

from helpdesk_shared.vocabulary import Role
from helpdesk_shared.web.headers import header
from helpdesk_shared.web.keys import KeyRing
from helpdesk_shared.web.problems import Problem
from helpdesk_shared.web.token_cache import Verified, VerifiedTokens

ISSUER = "helpdesk"
ALGORITHM = "EdDSA"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user (or a service) with its role and, for customers, its customer."""

    id: str
    role: Role
    customer_id: str | None = None
    sessions: int = 0  # the user's sessions counter the token was issued under (claim ``ses``)
    session_id: str | None = None  # claim ``sid``: kept by a refresh
    signed_in_at: int | None = None  # claim ``auth_time`` (Unix seconds): kept by a refresh

    def require(self, *roles: Role) -> None:
        """Raise 403 unless the principal holds one of ``roles``."""
        if self.role not in roles:
            raise Problem(403, "forbidden", f"a {self.role.value} may not do this")


ADMIN = Principal(id="admin", role=Role.ADMIN)
SLA_SERVICE = Principal(id="service:sla", role=Role.SERVICE)


class RevocationCheck(Protocol):
    """What a verifier asks after a token's signature holds: has it been revoked since?"""

    def revoked(self, principal: Principal) -> str | None: ...


class KeySource(Protocol):
    """Where a verifier finds the public key a token names (a ``JwksClient``, or intake's ``KeyRing``)."""

    async def key(self, kid: str) -> Any | None: ...


class TokenIssuer:
    """intake's side: signs tokens with the key ring's active key, naming it in the header."""

    def __init__(self, ring: KeyRing, ttl_seconds: int = 3600) -> None:
        self.ring = ring
        self.ttl_seconds = ttl_seconds

    def instant(self, now: dt.datetime) -> dt.datetime:
        """The time tokens are issued on (the service's clock; intake's simulated clock overrides it)."""
        return now

    def issue(self, principal: Principal, now: dt.datetime) -> str:
        now = self.instant(now)
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": principal.id,
            "role": principal.role.value,
            "iat": int(now.timestamp()),
            "exp": int(now.timestamp()) + self.ttl_seconds,
        }
        if principal.customer_id:
            claims["cid"] = principal.customer_id
        if principal.session_id:
            claims.update(sid=principal.session_id, ses=principal.sessions,
                          auth_time=principal.signed_in_at or claims["iat"])
        keys = self.ring.current()
        return jwt.encode(claims, keys.signer, algorithm=ALGORITHM, headers={"kid": keys.active_kid})


class Authenticator:
    """Verifies bearer tokens: the static ones by constant-time comparison, JWTs by their key, once per
    token while it lives (``VerifiedTokens``); the revocation check runs on every request."""

    def __init__(self, keys: KeySource, admin_token: str | None = None, service_token: str | None = None,
                 revocations: RevocationCheck | None = None, tokens: VerifiedTokens | None = None) -> None:
        self._keys = keys
        self.tokens = tokens if tokens is not None else VerifiedTokens()
        self.revocations: RevocationCheck | None = None
        self._static = [(token.encode(), principal)
                        for token, principal in ((admin_token, ADMIN), (service_token, SLA_SERVICE)) if token]
        if revocations is not None:
            self.watch(revocations)

    def watch(self, revocations: RevocationCheck) -> None:
        """Check tokens against ``revocations``, and forget the verified ones whenever it learns a fact."""
        self.revocations = revocations
        if (listeners := getattr(revocations, "listeners", None)) is not None:
            listeners.append(self.tokens.clear)

    async def verify(self, authorization: str | None) -> Principal:
        """The principal of an ``Authorization: Bearer …`` header, or a 401 problem."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Problem(401, "unauthorized", "a bearer token is required",
                          headers_hint="Authorization: Bearer <token>")
        for known, principal in self._static:
            if hmac.compare_digest(token.encode(), known):
                return principal
        principal = await self._verified(token)
        if self.revocations is not None and (reason := self.revocations.revoked(principal)):
            raise Problem(401, "unauthorized", f"the token was revoked: {reason}")
        return principal

    async def _verified(self, token: str) -> Principal:
        """The principal a JWT names: from the cache while its key still verifies, else by its signature."""
        cached = self.tokens.get(token)
        if cached is not None and await self._keys.key(cached.kid) is cached.key:
            return cached.principal
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != ALGORITHM or not isinstance(kid := header.get("kid"), str):
                raise jwt.InvalidTokenError(f"a token must be signed with {ALGORITHM} and name its kid")
            if (key := await self._keys.key(kid)) is None:
                raise jwt.InvalidTokenError(f"unknown signing key {kid!r}")
            claims = jwt.decode(token, key, algorithms=[ALGORITHM], issuer=ISSUER,
                                options={"require": ["exp", "sub", "role"]})
            principal = _principal(claims)
        except (jwt.PyJWTError, ValueError, TypeError) as error:
            raise Problem(401, "unauthorized", f"invalid token: {error}") from None
        self.tokens.put(token, Verified(principal, kid, key, float(claims["exp"])))
        return principal


def _principal(claims: dict[str, Any]) -> Principal:
    """The caller a verified token's claims name; a malformed claim is a ValueError or TypeError."""
    sessions = claims.get("ses", 0)
    signed_in_at = claims.get("auth_time", claims.get("iat"))
    if not isinstance(sessions, int) or not isinstance(signed_in_at, int | None):
        raise ValueError("the ses and auth_time claims are integers")
    session_id = claims.get("sid")
    return Principal(id=claims["sub"], role=Role(claims["role"]), customer_id=claims.get("cid"),
                     sessions=sessions, session_id=session_id if isinstance(session_id, str) else None,
                     signed_in_at=signed_in_at)


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """Litestar dependency: the caller, verified by the app's ``Authenticator``."""
    authenticator: Authenticator = request.app.state.authenticator
    return await authenticator.verify(header(request.scope, b"authorization"))

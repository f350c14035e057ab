"""Bearer tokens and roles (CONTRACT §2): intake issues JWTs, every service verifies them.

A token carries the user id, the role and, for a customer's employee, the
customer id. The static admin token (``HELPDESK_ADMIN_TOKEN``) is for
provisioning. Services acting on their own (sla) mint short-lived ``service``
tokens with the shared secret.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass
from typing import Any

import jwt
from litestar import Request

from helpdesk_shared.vocabulary import Role
from helpdesk_shared.web.problems import Problem

ISSUER = "helpdesk"
ALGORITHM = "HS256"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user (or a service) with its role and, for customers, its customer."""

    id: str
    role: Role
    customer_id: str | None = None

    def require(self, *roles: Role) -> None:
        """Raise 403 unless the principal holds one of ``roles``."""
        if self.role not in roles:
            raise Problem(403, "forbidden", f"a {self.role.value} may not do this")


class Authenticator:
    """Issues and verifies tokens with one shared secret."""

    def __init__(self, secret: str, admin_token: str | None = None, ttl_seconds: int = 3600) -> None:
        self._secret = secret
        self._admin_token = admin_token
        self.ttl_seconds = ttl_seconds

    def issue(self, principal: Principal, now: dt.datetime) -> str:
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": principal.id,
            "role": principal.role.value,
            "iat": int(now.timestamp()),
            "exp": int(now.timestamp()) + self.ttl_seconds,
        }
        if principal.customer_id:
            claims["cid"] = principal.customer_id
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, authorization: str | None) -> Principal:
        """The principal of an ``Authorization: Bearer …`` header, or a 401 problem."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Problem(401, "unauthorized", "a bearer token is required",
                          headers_hint="Authorization: Bearer <token>")
        if self._admin_token and hmac.compare_digest(token.encode(), self._admin_token.encode()):
            return Principal(id="admin", role=Role.ADMIN)
        try:
            claims = jwt.decode(token, self._secret, algorithms=[ALGORITHM], issuer=ISSUER,
                                options={"require": ["exp", "sub", "role"]})
            return Principal(id=claims["sub"], role=Role(claims["role"]), customer_id=claims.get("cid"))
        except (jwt.PyJWTError, ValueError) as error:
            raise Problem(401, "unauthorized", f"invalid token: {error}") from None


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """Litestar dependency: the caller, verified by the app's ``Authenticator``."""
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator.verify(request.headers.get("authorization"))

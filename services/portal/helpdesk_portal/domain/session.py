"""Who is signed in, read from the token the session cookie holds (for display only: the APIs verify it)."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

STAFF = frozenset({"agent", "admin", "auditor"})


class NotSignedIn(Exception):
    """No session, or one whose token has expired or been refused: the user signs in again."""


@dataclass(frozen=True)
class User:
    """The signed-in user: the token, and the claims the pages need to choose what to show."""

    token: str
    id: str
    role: str
    customer_id: str | None
    expires_at: int
    login: str = ""

    @property
    def staff(self) -> bool:
        return self.role in STAFF

    @property
    def agent(self) -> bool:
        return self.role in {"agent", "admin"}


def user_from_token(token: str | None, now: float, login: str = "") -> User:
    """The user a token names, if it is still valid by its own ``exp``; else ``NotSignedIn``."""
    if not token:
        raise NotSignedIn()
    claims = _claims(token)
    try:
        user = User(token, str(claims["sub"]), str(claims["role"]), claims.get("cid"), int(claims["exp"]), login)
    except (KeyError, TypeError, ValueError):
        raise NotSignedIn() from None
    if user.expires_at <= now:
        raise NotSignedIn()
    return user


def _claims(token: str) -> dict[str, object]:
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error, UnicodeDecodeError):
        raise NotSignedIn() from None
    if not isinstance(claims, dict):
        raise NotSignedIn()
    return claims

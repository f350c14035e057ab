"""Where a webhook may point, and which subjects it may follow (CONTRACT §10).

Intake checks a registration with these rules and notify checks again before every
delivery (a name may resolve elsewhere by then), connecting to the address it
checked. HTTPS only; plain HTTP only to loopback, and loopback only where
``allow_loopback`` (development and tests). Private, shared (CGNAT), link-local
(cloud metadata at 169.254.169.254), multicast, reserved and unspecified addresses are
always refused.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any
from urllib.parse import SplitResult, urlsplit

MAX_URL_LENGTH = 2000
MIN_SECRET_LENGTH = 16
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT, not in is_private
_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedTarget(ValueError):
    """A webhook URL or subject filter that the contract forbids; ``field`` names the input."""

    def __init__(self, detail: str, field: str = "url") -> None:
        super().__init__(detail)
        self.field = field


def check_subjects(patterns: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The NATS subject patterns, each under ``helpdesk.``, with ``*`` tokens and ``>`` only last."""
    if not patterns:
        raise RefusedTarget("at least one subject pattern is required", "subjects")
    for pattern in patterns:
        tokens = pattern.split(".")
        bad = [t for t in tokens if t not in ("*", ">") and (not t or not set(t) <= _TOKEN_CHARS)]
        if bad or ">" in tokens[:-1] or tokens[0] != "helpdesk" or len(tokens) < 2:
            raise RefusedTarget(f"{pattern!r} is not a subject pattern under helpdesk. (tokens of letters,"
                                " digits, _ and -, '*' for one token, '>' only last)", "subjects")
    return tuple(dict.fromkeys(patterns))


def matches(pattern: str, subject: str) -> bool:
    """Whether a NATS subject pattern (``*`` one token, ``>`` the rest) matches ``subject``."""
    want, have = pattern.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have) or (token != "*" and token != have[i]):
            return False
    return len(have) == len(want)


def check_url(url: str, allow_loopback: bool) -> SplitResult:
    """The URL's parts if its form is allowed (https, or http to a loopback name); no DNS yet."""
    if len(url) > MAX_URL_LENGTH:
        raise RefusedTarget(f"the url is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as error:
        raise RefusedTarget(f"not a URL: {error}") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise RefusedTarget("a webhook URL is https://host/...")
    if parts.username is not None or parts.password is not None:
        raise RefusedTarget("credentials do not belong in a webhook URL; the secret signs each delivery")
    if parts.scheme == "http" and not (allow_loopback and _loopback_name(parts.hostname)):
        raise RefusedTarget("plain http is allowed only to a loopback address, for development; use https")
    return parts


def refusal(address: IPAddress, allow_loopback: bool) -> str | None:
    """Why a webhook may not connect to ``address``, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return None if allow_loopback else "a loopback address (allowed only in development)"
    if address.is_link_local:
        return "a link-local address (this includes cloud metadata services)"
    if address.is_unspecified or address.is_multicast or address.is_reserved:
        return "an unspecified, multicast or reserved address"
    if address.is_private or (address.version == 4 and address in _SHARED):
        return "a private address"
    return None


async def resolve(parts: SplitResult, allow_loopback: bool, timeout: float = 5.0) -> str:
    """The address to connect to: every address the host resolves to must be allowed.

    The caller connects to the address returned, so DNS cannot answer differently
    between the check and the connection.
    """
    try:
        infos = await asyncio.wait_for(asyncio.get_running_loop().getaddrinfo(
            parts.hostname, _port(parts), type=socket.SOCK_STREAM), timeout)
    except (OSError, TimeoutError, ValueError) as error:  # ValueError: an unencodable name (idna)
        raise RefusedTarget(f"{parts.hostname} does not resolve: {error}") from None
    return pick(parts, infos, allow_loopback)


def resolve_blocking(parts: SplitResult, allow_loopback: bool) -> str:
    """``resolve`` for synchronous callers (intake's command threads)."""
    try:
        infos = socket.getaddrinfo(parts.hostname, _port(parts), type=socket.SOCK_STREAM)
    except (OSError, ValueError) as error:  # ValueError: an unencodable name (idna)
        raise RefusedTarget(f"{parts.hostname} does not resolve: {error}") from None
    return pick(parts, infos, allow_loopback)


def pick(parts: SplitResult, infos: list[Any], allow_loopback: bool) -> str:
    """The first of getaddrinfo's addresses, if all are allowed (plain http: loopback only)."""
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    for address in addresses:
        if reason := refusal(address, allow_loopback):
            raise RefusedTarget(f"{parts.hostname} resolves to {address}: {reason}")
        if parts.scheme == "http" and not address.is_loopback:
            raise RefusedTarget(f"{parts.hostname} resolves to {address}: plain http is for loopback only")
    if not addresses:
        raise RefusedTarget(f"{parts.hostname} resolves to no address")
    return str(addresses[0])


def _port(parts: SplitResult) -> int:
    return parts.port or (443 if parts.scheme == "https" else 80)


def _loopback_name(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

"""Who is knocking: the client address that login throttling counts attempts against.

``X-Forwarded-For`` is believed only when the direct peer is one of the trusted proxies
(``HELPDESK_TRUSTED_PROXIES``: the portal, an Ingress). Then the client is the rightmost
address in the header that is not itself a trusted proxy: entries further left could be
forged by the client. From anyone else the header is ignored and the peer is the client.
An IPv6 client counts by its /64, the prefix one subscriber usually holds whole.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from litestar import Request

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
IPV6_PREFIX = 64


class ClientAddress:
    """Reads a request's client address, trusting forwarded headers only from ``proxies``."""

    def __init__(self, proxies: tuple[Network, ...] = ()) -> None:
        self.proxies = proxies

    def of(self, request: Request[Any, Any, Any]) -> str:
        peer = request.client.host if request.client else None
        forwarded = ",".join(request.headers.getall("x-forwarded-for", []))
        return self.resolve(peer, forwarded)

    def resolve(self, peer: str | None, forwarded_for: str) -> str:
        """The key of the client: the peer, or the address a trusted proxy forwarded."""
        client = parse_ip(peer or "")
        if client is None:
            return peer or "unknown"  # not an IP (an in-process test client): count it by its name
        if self._trusted(client):
            for entry in reversed([e for e in forwarded_for.split(",") if e.strip()]):
                forwarded = parse_ip(entry)
                if forwarded is None:
                    break  # garbage from here leftwards: keep the last address a proxy vouched for
                client = forwarded
                if not self._trusted(forwarded):
                    break
        return _key(client)

    def _trusted(self, ip: IP) -> bool:
        return any(ip in network for network in self.proxies)


def parse_ip(text: str) -> IP | None:
    """An address as proxies write it: ``1.2.3.4``, ``1.2.3.4:80``, ``::1``, ``[::1]:80``."""
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1:text.index("]")]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return ip.ipv4_mapped
    return ip


def _key(ip: IP) -> str:
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{ip}/{IPV6_PREFIX}", strict=False))
    return str(ip)

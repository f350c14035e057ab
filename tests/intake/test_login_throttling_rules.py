"""Login throttling's pure parts: the growing delays and whose address a request comes from."""

from __future__ import annotations

import datetime as dt
import ipaddress

import pytest

from helpdesk_intake.domain.throttling import LoginLimits, TooManyAttempts
from helpdesk_intake.entrypoints.http.client_address import ClientAddress

NOW = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
PROXIES = ClientAddress(tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "fd00::/8")))


def test_hardening_login_throttling_delays_double_after_the_free_failures_up_to_the_cap() -> None:
    limits = LoginLimits()  # five free failures, then 1 s doubling up to 15 min
    waits = [limits.wait_after(n) for n in range(1, 18)]
    assert waits[:5] == [None] * 5
    assert [w.total_seconds() for w in waits[5:]] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]
    assert limits.wait_after(10**9) == dt.timedelta(minutes=15)  # bounded, whatever the count


def test_hardening_login_throttling_forgets_failures_after_a_quiet_day() -> None:
    limits = LoginLimits()
    assert limits.failures_so_far(12, NOW - dt.timedelta(hours=23), NOW) == 12
    assert limits.failures_so_far(12, NOW - dt.timedelta(days=1), NOW) == 0


def test_hardening_login_throttling_answers_retry_after_in_whole_seconds() -> None:
    limits = LoginLimits(address_attempts=2)
    limits.check_login(NOW, NOW)  # a wait that is over is no wait
    with pytest.raises(TooManyAttempts) as waiting:
        limits.check_login(NOW + dt.timedelta(seconds=2.1), NOW)
    assert waiting.value.retry_after == 3
    limits.check_address(2, NOW, NOW)
    with pytest.raises(TooManyAttempts) as busy:
        limits.check_address(3, NOW - dt.timedelta(seconds=45), NOW)
    assert busy.value.retry_after == 15


@pytest.mark.parametrize(("peer", "forwarded", "client"), [
    ("192.0.2.1", "203.0.113.7", "192.0.2.1"),  # an untrusted peer's header is ignored
    ("10.1.2.3", "203.0.113.7", "203.0.113.7"),  # a trusted proxy's is believed
    ("10.1.2.3", "198.51.100.9, 203.0.113.7, 10.9.9.9", "203.0.113.7"),  # rightmost not a proxy
    ("10.1.2.3", "10.8.8.8, 10.9.9.9", "10.8.8.8"),  # proxies all the way: the farthest one
    ("10.1.2.3", "", "10.1.2.3"),
    ("10.1.2.3", "203.0.113.7, not-an-address", "10.1.2.3"),  # garbage: the last vouched-for hop
    ("10.1.2.3", "203.0.113.7:4711", "203.0.113.7"),
    ("10.1.2.3", "[2001:db8:1:2::7]:443", "2001:db8:1:2::/64"),  # IPv6 counts by its /64
    ("fd00::1", "2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
    ("::ffff:10.1.2.3", "203.0.113.7", "203.0.113.7"),  # an IPv4 peer on a dual-stack socket
    ("testclient", "203.0.113.7", "testclient"),  # not an address at all: counted by name
    (None, "203.0.113.7", "unknown"),
])
def test_hardening_login_throttling_takes_the_client_address_from_trusted_proxies_only(
        peer: str | None, forwarded: str, client: str) -> None:
    assert PROXIES.resolve(peer, forwarded) == client

"""Small TCP helpers shared by the embedded servers and the test fixtures."""

from __future__ import annotations

import os
import random
import socket
import threading
import time
from collections.abc import Callable


_handed_out: set[int] = set()  # never the same port twice from one process
_lock = threading.Lock()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago, never one this process handed out before.

    With ``HELPDESK_PORT_RANGE=<first>-<last>`` set (each parallel test worker gets its own
    range, below the kernel's ephemeral ports) the port comes from that range, so parallel
    processes cannot race for one; otherwise the OS picks it.
    """
    span = _port_range()
    with _lock:
        for _ in range(200):
            port = _probe(host, random.randint(*span) if span else 0)
            if port and port not in _handed_out:
                _handed_out.add(port)
                return port
    raise OSError(f"no free TCP port on {host} in {span or 'the ephemeral range'}")


def _port_range() -> tuple[int, int] | None:
    """The ``HELPDESK_PORT_RANGE`` as (first, last), or None when unset."""
    raw = os.environ.get("HELPDESK_PORT_RANGE", "").strip()
    if not raw:
        return None
    first, _, last = raw.partition("-")
    return int(first), int(last)


def _probe(host: str, port: int) -> int | None:
    """``port`` (0: any) if it can be bound right now, else None."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return None
        return sock.getsockname()[1]


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    """True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for(
    predicate: Callable[[], bool],
    timeout: float,
    what: str,
    interval: float = 0.05,
    alive: Callable[[], bool] = lambda: True,
) -> None:
    """Poll predicate until it holds; fail early when `alive` says the server process died."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if not alive():
            raise RuntimeError(f"{what}: the process exited while starting")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not ready after {timeout:.0f} s")
        time.sleep(interval)

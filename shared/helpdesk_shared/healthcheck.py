"""The image's HEALTHCHECK: does this container's helpdesk process answer?

One image runs every process, so the check first finds which: the helpdesk process in the
container (or the one whose ``--pid`` it is given), from its command line, with the ports
from its own environment. Then it probes what that process serves: ``GET /healthz`` for
``serve``, ``GET /healthz`` on its metrics port for query's ``project``, a TCP connection to
the inbound SMTP port for ``smtp``. The relay exits on a fatal error, so it is healthy while
it runs. Exit 0 healthy, 1 not (Docker).

    python -m helpdesk_shared.healthcheck [--pid PID]
"""

from __future__ import annotations

import os
import re
import socket
import sys
import urllib.request
from pathlib import Path

PROCESS = re.compile(r"helpdesk[-_](intake|query|sla|notify)")
HTTP_PORTS = {"intake": 8001, "query": 8002, "sla": 8003, "notify": 8004}
SMTP_PORT = 2526
PROJECTOR_METRICS_PORT = 9103
TIMEOUT = 3.0


def read_process(pid: int) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of process ``pid`` (empty when it is gone)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        pairs = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return [], {}
    return [a for a in argv if a], dict(p.split("=", 1) for p in pairs if "=" in p)


def helpdesk_command(argv: list[str]) -> tuple[str, str] | None:
    """``(service, command)`` of a command line: ``helpdesk-intake smtp`` → (intake, smtp)."""
    for index, arg in enumerate(argv):
        if match := PROCESS.fullmatch(os.path.basename(arg)):
            return match.group(1), argv[index + 1] if index + 1 < len(argv) else "serve"
    return None


def find_helpdesk_process() -> int | None:
    """The lowest pid (in a container: the main process) running a helpdesk command."""
    pids = sorted(int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit())
    others = (pid for pid in pids if pid != os.getpid())
    return next((pid for pid in others if helpdesk_command(read_process(pid)[0])), None)


def probe(service: str, command: str, environ: dict[str, str]) -> str | None:
    """What is wrong with the process, or None when it answers."""
    host = environ.get("HELPDESK_BIND_HOST", "127.0.0.1")
    host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    try:
        if command in ("serve", "project"):
            port = (environ.get(f"HELPDESK_{service.upper()}_PORT", HTTP_PORTS[service]) if command == "serve"
                    else environ.get("HELPDESK_PROJECTOR_METRICS_PORT", PROJECTOR_METRICS_PORT))
            with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=TIMEOUT) as answer:
                return None if answer.status == 200 else f"/healthz answered {answer.status}"
        if command == "smtp":
            port = int(environ.get("HELPDESK_INBOUND_SMTP_PORT", SMTP_PORT))
            socket.create_connection((host, port), timeout=TIMEOUT).close()
        return None
    except (OSError, ValueError) as error:
        return f"helpdesk-{service} {command}: {error}"


def main(argv: list[str]) -> int:
    """Probe the process named by ``--pid`` or found in /proc; print why it is unhealthy."""
    pid = int(argv[argv.index("--pid") + 1]) if "--pid" in argv else find_helpdesk_process()
    command_line, environ = read_process(pid) if pid else ([], {})
    process = helpdesk_command(command_line)
    if process is None:
        print("no helpdesk process is running", file=sys.stderr)
        return 1
    problem = probe(*process, environ)
    if problem:
        print(problem, file=sys.stderr)
    return 1 if problem else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

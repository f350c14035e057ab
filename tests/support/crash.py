"""Crashes for chaos tests: SIGKILL a process with all it spawned, then start it again as it was.

Every process here runs in its own session (``start_new_session=True``), so killing its
process group takes its workers and children too (uvicorn workers, PostgreSQL backends),
as a container runtime or the OOM killer would.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from helpdesk_devstack.server import ServerProcess

from tests.support.processes import ServiceProcess


def kill_group(pid: int) -> None:
    """SIGKILL the process group led by ``pid`` (gone already: nothing to do)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def crash_service(service: ServiceProcess) -> None:
    """SIGKILL a service and everything it started, and reap it; ``service.start()`` brings it back."""
    if service.process is not None:
        kill_group(service.process.pid)
        service.wait()


def crash_and_restart_server(server: ServerProcess, down_for: float = 0.0) -> None:
    """SIGKILL an embedded PostgreSQL or NATS with its children; after ``down_for`` seconds of
    outage, start it again on its port and data."""
    if server.pid is not None:
        kill_group(server.pid)
    server.stop()  # reaps the dead process
    time.sleep(down_for)  # the outage itself: clients meanwhile find nobody there
    server.start()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process (with its reaped children) has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    ticks = sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def group_pids(leader: int) -> list[int]:
    """The live processes of the process group led by ``leader`` (uvicorn's workers, say)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == leader:
                    found.append(int(entry.name))
            except (ProcessLookupError, PermissionError):
                continue
    return found

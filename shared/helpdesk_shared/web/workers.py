"""Several uvicorn worker processes that start together or not at all.

``uvicorn.run(..., workers=N)`` with N > 1 hands the workers to uvicorn's supervisor, which
treats a worker that dies before it ever served like one that died later: it starts another,
and another. A configuration error (a missing signing key, a bad setting: anything the app
factory refuses) then never ends the server; it keeps failing inside a process that looks
alive, where one worker would have exited. And uvicorn checks the exit for a start-up failure
only when there is one worker, so even a server whose supervisor gave up exits 0.

``serve_workers`` waits until every first worker serves. One that exits before that stops all
of them, and the server exits with uvicorn's start-up failure code (3), so that a process
manager (Kubernetes, compose, systemd) sees the failure and its reason in the worker's log.
A worker that dies after it served is replaced, as uvicorn does.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

log = logging.getLogger("helpdesk.web.workers")
READY_POLL_SECONDS = 0.5  # how long each look at a starting worker waits for its answer


class _StartTogether(Multiprocess):
    """uvicorn's supervisor, except that a first worker which exits before it serves stops the server."""

    failed_to_start = False

    def init_processes(self) -> None:
        super().init_processes()
        starting = list(self.processes)
        while starting and not self.should_exit.is_set():
            self.handle_signals()  # a SIGTERM while the workers start stops them, as it would later
            for worker in list(starting):
                if not worker.process.is_alive():
                    log.error("worker process %s exited with code %s before it served; stopping the server",
                              worker.pid, worker.exitcode)
                    self.failed_to_start = True
                    self.should_exit.set()
                    return
                if worker.is_ready(timeout=READY_POLL_SECONDS):
                    starting.remove(worker)


def serve_workers(app: str, workers: int, **config: Any) -> None:
    """``uvicorn.run(app, workers=workers, **config)``, which exits with code 3 if a worker fails to start."""
    if workers <= 1:
        uvicorn.run(app, **config)  # exits with code 3 itself when the one server fails to start
        return
    settings = uvicorn.Config(app, workers=workers, **config)
    supervisor = _StartTogether(settings, sockets=[settings.bind_socket()])
    supervisor.run()
    if supervisor.failed_to_start:
        sys.exit(STARTUP_FAILURE)

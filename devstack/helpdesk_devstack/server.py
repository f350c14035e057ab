"""A server process started from here: wait until it is ready, stop it in order, show its log."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from helpdesk_devstack.ports import wait_for


class ServerProcess:
    """Base of the embedded servers; subclasses set ``log_path`` and call ``_launch`` from ``start``."""

    name = "server"
    stop_signal = signal.SIGTERM
    stop_timeout = 10.0
    log_path: Path

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> Any:
        raise NotImplementedError

    def _launch(self, command: list[str], ready: Callable[[], bool], timeout: float,
                interval: float = 0.05, **popen: Any) -> None:
        """Run ``command`` (its output to the log) and wait until ``ready``; stop it if it never is."""
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches us, not the server: we stop it in order
                **popen)
        try:
            wait_for(ready, timeout, self.name, interval=interval, alive=self.running)
        except Exception as error:
            self.stop()
            raise RuntimeError(f"{error}\n--- {self.log_path} ---\n{self.log_tail()}") from None

    def stop(self, timeout: float | None = None) -> None:
        """Stop with ``stop_signal``; SIGKILL after ``timeout`` seconds."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(self.stop_signal)
        try:
            process.wait(self.stop_timeout if timeout is None else timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """SIGKILL the server and every process it started, as a crash would: no shutdown at all.

        ``start()`` brings it back on the same port and data (tests of what survives an outage).
        """
        process = self._process
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # its own session: the group is the server's
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

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

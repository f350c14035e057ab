"""Child processes with prefixed output, foreman-style, stopped together."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from typing import BinaryIO

COLORS = (36, 33, 32, 35, 34, 96, 93, 92)
RED = 31


class Output:
    """Serialises lines from several threads onto stdout, each under a name prefix."""

    def __init__(self, width: int = 8, color: bool | None = None) -> None:
        self.width = width
        self.color = (
            sys.stdout.isatty() and "NO_COLOR" not in os.environ if color is None else color
        )
        self._lock = threading.Lock()

    def line(self, name: str, text: str, color: int = 0) -> None:
        prefix = f"{name:<{self.width}} | "
        if self.color and color:
            prefix = f"\033[{color}m{prefix}\033[0m"
        with self._lock:
            sys.stdout.write(prefix + text.rstrip("\r\n") + "\n")
            sys.stdout.flush()

    def alarm(self, name: str, text: str) -> None:
        """A line that must not be missed (a child died)."""
        self.line(name, f"\033[1;{RED}m{text}\033[0m" if self.color else f"*** {text} ***", RED)


class Supervisor:
    """Starts children in their own sessions (Ctrl-C reaches only us) and stops them in order."""

    def __init__(self, env: Mapping[str, str], output: Output) -> None:
        self.env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        self.output = output
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self._pumps: list[threading.Thread] = []

    def start(self, name: str, command: Sequence[str]) -> None:
        process = subprocess.Popen(
            list(command),
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.children[name] = process
        color = COLORS[(len(self.children) - 1) % len(COLORS)]
        assert process.stdout is not None
        pump = threading.Thread(target=self._pump, args=(name, process.stdout, color), daemon=True)
        pump.start()
        self._pumps.append(pump)

    def first_exited(self) -> tuple[str, int] | None:
        """(name, exit code) of a child that has exited, if any."""
        for name, process in self.children.items():
            code = process.poll()
            if code is not None:
                return name, code
        return None

    def stop_all(self, timeout: float = 10) -> None:
        """SIGTERM every child, SIGKILL those still running after `timeout` seconds."""
        running = {n: p for n, p in self.children.items() if p.poll() is None}
        for process in running.values():
            process.terminate()
        deadline = time.monotonic() + timeout
        for name, process in running.items():
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.output.alarm(name, f"did not stop within {timeout:.0f} s: killing it")
                process.kill()
                process.wait()
        for pump in self._pumps:
            pump.join(timeout=2)

    def kill_all(self) -> None:
        for process in self.children.values():
            if process.poll() is None:
                process.kill()

    def _pump(self, name: str, stream: BinaryIO, color: int) -> None:
        for raw in iter(stream.readline, b""):
            self.output.line(name, raw.decode("utf-8", errors="replace"), color)
        stream.close()

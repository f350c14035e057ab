"""Child processes with prefixed output, foreman-style, restarted when they crash, stopped together."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Restarts:
    """When a crashed child starts again: after ``first`` seconds, doubling per crash in a row up
    to ``longest``. A run of ``steady`` seconds or more ends a row of crashes; a child that never
    had one and crashed ``give_up_after`` times cannot start at all (a bug, a bad setting)."""

    first: float = 1.0
    longest: float = 30.0
    steady: float = 10.0
    give_up_after: int = 5

    def delay(self, crashes_in_a_row: int) -> float:
        return min(self.longest, self.first * 2 ** max(crashes_in_a_row - 1, 0))


@dataclass
class Child:
    """One supervised command and the state of its current run."""

    name: str
    command: list[str]
    color: int
    process: subprocess.Popen[bytes]
    started_at: float
    crashes_in_a_row: int = 0
    ever_steady: bool = False
    restart_at: float | None = None


class Supervisor:
    """Starts children in their own sessions (Ctrl-C reaches only us), restarts those that crash
    with backoff, and stops them in order."""

    def __init__(self, env: Mapping[str, str], output: Output, restarts: Restarts = Restarts()) -> None:
        self.env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        self.output = output
        self.restarts = restarts
        self.children: dict[str, Child] = {}
        self._pumps: list[threading.Thread] = []

    def start(self, name: str, command: Sequence[str]) -> None:
        color = COLORS[len(self.children) % len(COLORS)]
        self.children[name] = Child(name, list(command), color, self._spawn(name, command, color), time.monotonic())

    def tend(self) -> str | None:
        """Restart children that crashed, each when its backoff is over; the name of one that cannot
        start at all (time to give up), else None."""
        now = time.monotonic()
        for child in self.children.values():
            if child.restart_at is not None:
                if now >= child.restart_at:
                    self._restart(child, now)
            elif (code := child.process.poll()) is not None:
                if not self._crashed(child, code, now):
                    return child.name
        return None

    def _crashed(self, child: Child, code: int, now: float) -> bool:
        """Count the crash and schedule the restart; False when the child should be given up."""
        if now - child.started_at >= self.restarts.steady:
            child.ever_steady, child.crashes_in_a_row = True, 1
        else:
            child.crashes_in_a_row += 1
        if not child.ever_steady and child.crashes_in_a_row >= self.restarts.give_up_after:
            self.output.alarm(child.name, f"{child.name} exited with code {code}, "
                                          f"{child.crashes_in_a_row} times in a row right after starting")
            return False
        delay = self.restarts.delay(child.crashes_in_a_row)
        self.output.alarm(child.name, f"{child.name} exited with code {code}; restarting in {delay:g}s")
        child.restart_at = now + delay
        return True

    def _restart(self, child: Child, now: float) -> None:
        child.process = self._spawn(child.name, child.command, child.color)
        child.started_at, child.restart_at = now, None
        self.output.line(child.name, f"restarted (pid {child.process.pid})", child.color)

    def _spawn(self, name: str, command: Sequence[str], color: int) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            list(command),
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        assert process.stdout is not None
        pump = threading.Thread(target=self._pump, args=(name, process.stdout, color), daemon=True)
        pump.start()
        self._pumps.append(pump)
        return process

    def stop_all(self, timeout: float = 10) -> None:
        """SIGTERM every child, SIGKILL those still running after `timeout` seconds."""
        running = {n: c.process for n, c in self.children.items() if c.process.poll() is None}
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
        for child in self.children.values():
            if child.process.poll() is None:
                child.process.kill()

    def _pump(self, name: str, stream: BinaryIO, color: int) -> None:
        for raw in iter(stream.readline, b""):
            self.output.line(name, raw.decode("utf-8", errors="replace"), color)
        stream.close()

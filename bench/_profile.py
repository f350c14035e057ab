"""What the services under a benchmark spend: CPU seconds per process (``_support.cpu_seconds``) and, with
py-spy (requirements-dev.txt), sampled profiles whose top entries are printed. On a shared machine wall time
is noisy; CPU time per page load is the steadier comparison."""

from __future__ import annotations

import collections
import contextlib
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil

from bench._support import cpu_seconds


def serving(env: dict[str, str]) -> dict[str, int]:
    """The service processes ``stack`` started that serve HTTP: ``{"helpdesk_portal": pid, …}``."""
    return {key.removeprefix("BENCH_PID_").removesuffix("_serve"): int(pid) for key, pid in env.items()
            if key.startswith("BENCH_PID_") and key.endswith("_serve")}


def settle(pids: dict[str, int], busy: float = 0.2, timeout: float = 600) -> float:
    """Wait until the processes use less than ``busy`` of a core (a bulk load's after-effects are over);
    the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        before = sum(cpu_seconds(pid) for pid in pids.values())
        time.sleep(2)
        if sum(cpu_seconds(pid) for pid in pids.values()) - before < 2 * busy:
            break
    return time.monotonic() - started


@contextlib.contextmanager
def cpu_used(pids: dict[str, int]) -> Iterator[dict[str, float]]:
    """The CPU seconds each process used inside the block (filled in when it ends)."""
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    used: dict[str, float] = {}
    yield used
    used.update({name: cpu_seconds(pid) - before[name] for name, pid in pids.items()})


def cpu_of(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far of each process, its live descendants and its reaped children (PostgreSQL's
    backends that ended); the bench itself (``pid`` 0) counts only its own threads, not its services."""
    used = {}
    for name, pid in pids.items():
        if pid == 0:
            used[name] = sum(psutil.Process().cpu_times()[:2])
            continue
        reaped = psutil.Process(pid).cpu_times()
        used[name] = cpu_seconds(pid) + reaped.children_user + reaped.children_system
    return used


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (every core, every user: the other benches too)."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


@contextlib.contextmanager
def sampled(pids: dict[str, int], folder: Path | None, seconds: float | None, gil: bool = False) -> Iterator[None]:
    """py-spy records each process (collapsed stacks in ``folder``) for ``seconds``, or (None) until the block
    ends; no-op without a folder. ``gil``: only the thread holding the GIL, where a process's Python CPU goes."""
    if folder is None:
        yield
        return
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    folder.mkdir(parents=True, exist_ok=True)
    duration = ["--duration", str(int(seconds) + 1)] if seconds is not None else []
    running = [subprocess.Popen([spy, "record", "--pid", str(pid), *duration,
                                 "--rate", "200", "--nonblocking", "--function", "--format", "raw",
                                 "--output", str(folder / f"{name}.txt"), *(["--gil"] if gil else [])],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for name, pid in pids.items()]
    try:
        yield
    finally:
        for process in running:
            if seconds is None:
                process.send_signal(signal.SIGINT)  # py-spy writes what it sampled and exits
            process.wait(timeout=(seconds or 0) + 60)


def top(path: Path, count: int = 12) -> list[str]:
    """The functions with the most samples in a collapsed-stack file: own samples, then (the project's own
    code only, where the time goes by caller) samples with the function on the stack."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        frames = stack.split(";")
        total += int(n)
        own[_short(frames[-1])] += int(n)
        for frame in {f for f in frames if "helpdesk_" in f}:
            inclusive[_short(frame)] += int(n)
    if not total:
        return [f"{path.stem}: no samples"]
    return [f"{path.stem}: {total} samples",
            *(f"  self {100 * n / total:5.1f}%  {frame}" for frame, n in own.most_common(count)),
            *(f"  incl {100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(count))]


def _short(frame: str) -> str:
    """``function (file.py:line)`` without the file's folders."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit('/', 1)[-1]}" if where else name

"""Reproducible installs: every third-party package comes from a hash-checked lock.

The lock files are compiled by uv from the pyproject.toml files and requirements-dev.txt
(`make lock`); `make` and the Dockerfile install from them only, so a new release of any
dependency cannot change what a fresh clone or an image runs.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCKS = {"runtime": ROOT / "requirements/runtime.txt", "dev": ROOT / "requirements/dev.txt"}
PIN = re.compile(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^ ;\\]+)", re.M)


def _pins(path: Path) -> dict[str, str]:
    return {name.lower(): version for name, version in PIN.findall(path.read_text())}


def _uv() -> str:
    return str(Path(sys.executable).with_name("uv")) if Path(sys.executable).with_name("uv").exists() else (
        shutil.which("uv") or pytest.fail("uv is part of requirements-dev.txt; `make` installs it"))


def test_reproducible_installs_make_and_the_image_install_from_the_hashed_locks_only() -> None:
    makefile, dockerfile = (ROOT / "Makefile").read_text(), (ROOT / "Dockerfile").read_text()
    assert "--require-hashes --no-deps -r $(LOCK)" in makefile and "LOCK := requirements/dev.txt" in makefile
    assert "--require-hashes --no-deps -r requirements/runtime.txt" in dockerfile
    # Our own packages go on top without resolving anything, so nothing unlocked slips in.
    assert makefile.count("--no-deps") == 2 and "--no-deps --no-build-isolation" in dockerfile


def test_reproducible_installs_every_locked_package_is_pinned_with_hashes() -> None:
    for path in LOCKS.values():
        blocks = [b for b in re.split(r"\n(?=[A-Za-z0-9])", path.read_text()) if PIN.match(b)]
        assert blocks, path
        unhashed = [b.split()[0] for b in blocks if "--hash=sha256:" not in b]
        assert not unhashed, f"{path.name}: pinned without a hash: {unhashed}"


def test_reproducible_installs_the_image_runs_the_same_versions_as_the_tests() -> None:
    runtime, dev = _pins(LOCKS["runtime"]), _pins(LOCKS["dev"])
    assert {"msgspec", "eventsourcing", "litestar", "nats-py", "psycopg"} <= runtime.keys()
    differing = {name: (v, dev.get(name)) for name, v in runtime.items() if dev.get(name) != v}
    assert not differing, f"runtime.txt and dev.txt disagree: {differing}"


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(LOCKS))
def test_reproducible_installs_the_locks_are_current_with_the_declared_dependencies(
        name: str, tmp_path: Path) -> None:
    """Re-compiling with the lock as the preference changes nothing, unless a pyproject moved on."""
    lock = LOCKS[name]
    fresh = tmp_path / lock.name
    shutil.copy(lock, fresh)
    command = [_uv(), "pip", "compile", "--quiet", "--universal", "--python-version", "3.11", "--generate-hashes",
               *[arg for p in ("shared", "intake", "sla", "notify", "query", "devstack")
                 for arg in ("--no-emit-package", f"helpdesk-{p}")],
               f"requirements/{name}.in", "-o", str(fresh)]
    subprocess.run(command, cwd=ROOT, check=True, timeout=240)
    assert _pins(fresh) == _pins(lock), f"`make lock` would change {lock.name}: run it and commit the result"

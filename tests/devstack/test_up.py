"""`helpdesk-dev up` with stand-in services: clean stop on SIGINT, loud stop when one dies."""

import os
import signal
import subprocess
import sys

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


def test_up_shuts_everything_down_when_a_process_dies(run_up):
    process, env, output = run_up("crash-later")
    assert process.wait(60) == 1, output()
    assert "worker EXITED with code 4" in output()
    assert "web      | stopping" in output()
    assert not port_open("127.0.0.1", int(env["HELPDESK_PG_PORT"]))

"""``helpdesk-intake serve`` with several worker processes (HELPDESK_WORKERS), as real processes.

uvicorn's own supervisor restarts a worker that fails to start for ever and exits 0; intake's
(``helpdesk_shared/web/workers.py``) stops the server with exit code 3 instead.
"""

from __future__ import annotations

import signal
from pathlib import Path

import httpx

from tests.support.processes import Services

STARTUP_FAILURE = 3  # uvicorn's exit code for a server that failed to start


def test_intake_with_two_workers_exits_with_code_3_when_its_workers_cannot_start(
    services: Services, tmp_path: Path,
) -> None:
    no_keys = tmp_path / "no-keys"
    no_keys.mkdir()
    intake = services.start("intake", "serve", wait_ready=False,
                            env={"HELPDESK_WORKERS": "2", "HELPDESK_JWT_KEYS_DIR": str(no_keys)})
    assert intake.wait(timeout=60) == STARTUP_FAILURE, intake.log_tail()
    log = intake.log_path.read_text()
    assert "no *.pem signing key" in log  # the worker's reason, for whoever reads the log
    assert "before it served; stopping the server" in log


def test_intake_with_two_workers_serves_then_stops_with_code_0_on_sigterm(services: Services) -> None:
    intake = services.start("intake", "serve", env={"HELPDESK_WORKERS": "2"})
    assert httpx.get(f"{intake.url}/readyz", timeout=5).status_code == 200
    assert intake.process is not None
    intake.process.send_signal(signal.SIGTERM)
    assert intake.wait(timeout=30) == 0, intake.log_tail()

"""The image: pinned base images, a numeric non-root user, and one HEALTHCHECK for every process.

No image can be built here (no Docker), so the Dockerfile is read as hadolint reads it (the
lint is in test_platform_tools) and its HEALTHCHECK command is run against real processes.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

from tests.deploy.rendering import ROOT
from tests.support.waiting import wait_until

DOCKERFILE = (ROOT / "Dockerfile").read_text()
HEALTHCHECK = [sys.executable, "-m", "helpdesk_shared.healthcheck"]


def instructions(name: str) -> list[str]:
    """The arguments of every ``name`` instruction, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [line.split(None, 1)[1] for line in joined.splitlines()
            if line.upper().startswith(name + " ")]


def healthcheck(pid: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HEALTHCHECK, "--pid", str(pid)], capture_output=True, text=True,
                          timeout=30)


def test_platform_image_pins_its_base_images_by_exact_tag() -> None:
    images = [args.split()[0] for args in instructions("FROM")]
    assert images
    for image in images:
        name, _, tag = image.partition("@")[0].partition(":")
        # e.g. 3.12.12-slim-bookworm: a major.minor.patch release, never `latest` or `3.12`
        assert re.fullmatch(r"\d+\.\d+\.\d+(-[a-z0-9.-]+)?", tag), image
        if "@" in image:
            assert re.fullmatch(r"sha256:[0-9a-f]{64}", image.partition("@")[2]), image


def test_platform_image_runs_as_a_numeric_non_root_user() -> None:
    user = instructions("USER")[-1]
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) != 0 and (not gid or gid.isdigit()), user


def test_platform_image_has_a_healthcheck_that_runs_the_shared_check() -> None:
    (check,) = instructions("HEALTHCHECK")
    assert '"python", "-m", "helpdesk_shared.healthcheck"' in check
    assert re.search(r"--start-period=\d+s", check) and re.search(r"--timeout=\d+s", check)


def test_platform_image_healthcheck_passes_for_serving_processes_and_fails_for_a_hung_one(
    services,
) -> None:
    intake = services.start("intake", "serve")
    smtp = services.start("intake", "smtp", wait_ready=False)
    relay = services.start("intake", "relay", wait_ready=False)
    assert healthcheck(intake.pid).returncode == 0, healthcheck(intake.pid).stderr
    wait_until_healthy(smtp.pid)
    assert healthcheck(relay.pid).returncode == 0  # serves nothing: healthy while it runs
    os.kill(intake.pid, signal.SIGSTOP)  # hung: accepts nothing, answers nothing
    try:
        hung = healthcheck(intake.pid)
    finally:
        os.kill(intake.pid, signal.SIGCONT)
    assert hung.returncode == 1 and "helpdesk-intake serve" in hung.stderr


def test_platform_image_healthcheck_fails_without_a_helpdesk_process() -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        checked = healthcheck(sleeper.pid)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert checked.returncode == 1 and "no helpdesk process" in checked.stderr


def wait_until_healthy(pid: int) -> None:
    """The SMTP listener opens once it has connected to PostgreSQL and NATS."""
    wait_until(lambda: healthcheck(pid).returncode == 0, timeout=20, interval=0.2,
               message="intake smtp never became healthy")

"""intake's command threads per process (HELPDESK_COMMAND_THREADS, 0: 16): the commands waiting at once
all wait together, so the group commit saves them in one batch instead of queueing the rest for the next."""

from __future__ import annotations

import asyncio
import threading

import pytest
from litestar.testing import TestClient

from helpdesk_intake.entrypoints.http.threads import CommandThreads
from helpdesk_intake.settings import IntakeSettings
from helpdesk_shared.settings import SettingsError, from_env
from tests.intake.conftest import intake_worker


def _all_at_once(threads: CommandThreads, count: int) -> list[int]:
    """``count`` calls that each return only once all of them are running at the same time."""
    together = threading.Barrier(count, timeout=10)

    async def gathered() -> list[int]:
        return await asyncio.gather(*(threads.run(together.wait) for _ in range(count)))
    return asyncio.run(gathered())


def test_perf_a_worker_runs_sixteen_commands_at_once_by_default(client: TestClient) -> None:
    threads = client.app.state.command_threads
    assert sorted(_all_at_once(threads, 16)) == list(range(16))
    assert len(threads._threads) == 16


def test_perf_command_threads_is_a_setting_zero_meaning_the_default(database_url: str, nats_url: str) -> None:
    assert from_env(IntakeSettings, {"HELPDESK_COMMAND_THREADS": "24"}).command_threads == 24
    assert from_env(IntakeSettings, {}).command_threads == 0
    with pytest.raises(SettingsError, match="command_threads"):
        from_env(IntakeSettings, {"HELPDESK_COMMAND_THREADS": "-1"})
    with intake_worker(database_url, nats_url, command_threads=24) as worker:
        assert sorted(_all_at_once(worker.app.state.command_threads, 24)) == list(range(24))

"""intake's command threads (entrypoints/http/threads.py): a blocking call off the event loop, its answer back."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

from helpdesk_intake.entrypoints.http.threads import CommandThreads

REQUEST = contextvars.ContextVar[str]("REQUEST")


def _seen() -> tuple[str, str]:
    return threading.current_thread().name, REQUEST.get()


def _refuse() -> None:
    raise LookupError("no such ticket")


def test_intake_cpu_a_command_runs_on_a_command_thread_in_the_callers_context_and_raises_in_it() -> None:
    threads = CommandThreads(2)

    async def calls() -> list[tuple[str, str]]:
        REQUEST.set("first")
        first = asyncio.ensure_future(threads.run(_seen))  # a task: the context as it is now
        REQUEST.set("second")
        seen = await asyncio.gather(first, threads.run(_seen))
        with pytest.raises(LookupError, match="no such ticket"):
            await threads.run(_refuse)
        return seen

    try:
        seen = asyncio.run(calls())
    finally:
        threads.close()
    assert [context for _, context in seen] == ["first", "second"]  # the context of the call, not of the thread
    assert all(name.startswith("command-") for name, _ in seen)
    assert not any(t.name.startswith("command-") and t.is_alive() for t in threads._threads)


def test_intake_cpu_a_command_whose_caller_went_away_still_finishes_and_frees_its_thread() -> None:
    threads, release = CommandThreads(1), threading.Event()

    async def abandoned() -> tuple[str, str]:
        REQUEST.set("kept")
        waiting = asyncio.ensure_future(threads.run(release.wait))
        await asyncio.sleep(0)
        waiting.cancel()
        release.set()
        return await threads.run(_seen)  # the one thread is free again

    try:
        assert asyncio.run(abandoned()) == ("command-0", "kept")
    finally:
        threads.close()

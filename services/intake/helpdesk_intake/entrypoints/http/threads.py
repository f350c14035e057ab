"""The threads intake's ticket commands run on: a command blocks on its group commit, so not on the event loop.

litestar's ``sync_to_thread`` hands a call over through ``run_in_executor``: a concurrent future with its
condition, an asyncio future chained to it by callbacks, two locks and a semaphore per call. Here a call is
one queue put, and its answer one ``call_soon_threadsafe`` (about 30 µs CPU less per command, issue 16). As
with litestar's, the call runs in a copy of the caller's context, so the request's span is current in it.
"""

from __future__ import annotations

import asyncio
import contextvars
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
# A ticket command spends most of its time waiting for its group commit, not on the CPU, and the
# commands waiting at once are saved in one batch: as many threads as concurrent commands, not
# asyncio's default executor's cpu_count + 4 (6 on two cores, the rest queued for a later batch).
THREADS = 16  # HELPDESK_COMMAND_THREADS
_Call = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", contextvars.Context, Callable[..., Any], tuple[Any, ...]]


class CommandThreads:
    """A fixed set of threads that run blocking calls for coroutines: ``await threads.run(fn, *args)``."""

    def __init__(self, threads: int = THREADS) -> None:
        self._queue: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._work, name=f"command-{n}", daemon=True)
                         for n in range(threads)]
        for thread in self._threads:
            thread.start()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on one of the threads, in the caller's context; its exception is raised here."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[T] = loop.create_future()
        self._queue.put((loop, answer, contextvars.copy_context(), fn, args))
        return await answer

    def close(self) -> None:
        """Let the calls under way finish, then end the threads."""
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=10)

    def _work(self) -> None:
        while (call := self._queue.get()) is not None:
            loop, answer, context, fn, args = call
            try:
                result, error = context.run(fn, *args), None
            except BaseException as raised:  # noqa: BLE001 - the awaiting coroutine raises it
                result, error = None, raised
            try:
                loop.call_soon_threadsafe(_settle, answer, result, error)
            except RuntimeError:  # the loop closed while the call ran: nobody waits for it
                pass
            del call, answer, context, fn, args, result, error  # nothing of a request outlives it here


def _settle(answer: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if answer.cancelled():  # the caller went away (a client that hung up)
        return
    if error is not None:
        answer.set_exception(error)
    else:
        answer.set_result(result)

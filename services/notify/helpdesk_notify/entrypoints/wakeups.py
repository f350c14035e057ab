"""Waking as many idle workers of a kind as new work needs, and never losing a wake-up.

Every commit of the consumer used to wake every SMTP and webhook worker, each of which then
asked PostgreSQL for due rows: mostly in vain (the first claims them all; webhooks are rare).
Now a commit that queued ``n`` rows wakes ``ceil(n / claim)`` idle workers of that kind only.
A wake-up that finds too few idle (the others are claiming or sending) is remembered, so a
worker about to wait claims once more instead: nothing queued waits for the poll.

Only one idle worker of a kind polls for retries falling due (every idle worker polling was
twelve claims a second when nothing happens); the others wait to be woken. Whoever polls finds
the due rows, and a claim that comes back full wakes another worker (``Notifier``). So a stop
cannot rely on a wait's timeout: ``close`` wakes every idle worker and makes every later wait
return at once, until ``open``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math


class Wakeups:
    """The idle workers of one kind (mail or webhooks), each waiting on its own event."""

    def __init__(self, claim: int) -> None:
        self._claim = max(1, claim)
        self._idle: list[asyncio.Event] = []
        self._missed = False
        self._polling = False  # an idle worker waits with a timeout (the others without)
        self._closed = False  # stopping: no wait waits

    def open(self) -> None:
        """The workers (re)start: waits wait again."""
        self._closed = self._missed = False

    def close(self) -> None:
        """The workers stop: every idle one wakes, and any that comes to wait later returns at once."""
        self._closed = True
        self.wake()

    def wake(self, queued: int | None = None) -> None:
        """``queued`` rows were queued (None: wake every idle worker, e.g. an admin's retry or a stop)."""
        wanted = len(self._idle) if queued is None else math.ceil(queued / self._claim)
        woken, self._idle = self._idle[:wanted], self._idle[wanted:]
        for event in woken:
            event.set()
        if queued is None or len(woken) < wanted:
            self._missed = True

    def full_claim(self, claimed: int) -> None:
        """A worker claimed ``claimed`` rows: a full claim (retries falling due together) wakes one idle
        worker more, if there is one, as only one polls."""
        if claimed >= self._claim and self._idle:
            self._idle.pop(0).set()

    async def wait(self, seconds: float) -> None:
        """Idle until woken or, if no other idle worker polls, ``seconds`` pass; at once if a wake-up found
        too few idle meanwhile."""
        if self._missed or self._closed:
            self._missed = False
            return
        event = asyncio.Event()
        self._idle.append(event)
        polling, self._polling = not self._polling, True
        try:
            if polling:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), seconds)
            else:
                await event.wait()
        finally:
            if polling:
                self._polling = False
            if event in self._idle:
                self._idle.remove(event)

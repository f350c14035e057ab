"""A commit wakes as many idle workers of a kind as its rows need, and a wake-up is never lost.

Unit tests of ``Wakeups``, then notify as bootstrap wires it (real PostgreSQL, NATS and an SMTP
server): a ticket's acknowledgement is claimed by one SMTP worker, and no webhook worker stirs;
and ``helpdesk-notify serve`` as a process stops at once on SIGTERM, its workers waiting or not.
"""

from __future__ import annotations

import asyncio
import signal
import time
from typing import Any

from helpdesk_devstack import SmtpCatcher

from helpdesk_notify.bootstrap import start, stop
from helpdesk_notify.entrypoints.wakeups import Wakeups
from helpdesk_notify.settings import NotifySettings
from tests.notify.facts import REQUESTER, History, publish, user_registered
from tests.support.processes import Services


async def _idle(wakeups: Wakeups, workers: int) -> tuple[list[asyncio.Task[None]], list[int]]:
    """``workers`` tasks waiting (a minute at most); each records its number when it returns."""
    woken: list[int] = []

    async def worker(n: int) -> None:
        await wakeups.wait(60)
        woken.append(n)

    tasks = [asyncio.create_task(worker(n)) for n in range(workers)]
    await asyncio.sleep(0)  # all waiting
    return tasks, woken


async def test_rows_wake_one_idle_worker_per_claim_of_them() -> None:
    wakeups = Wakeups(claim=10)
    tasks, woken = await _idle(wakeups, 4)
    wakeups.wake(0)
    wakeups.wake(3)
    await asyncio.sleep(0.01)
    assert woken == [0]
    wakeups.wake(11)
    await asyncio.sleep(0.01)
    assert woken == [0, 1, 2]
    wakeups.wake()  # an admin's retry: all of them
    await asyncio.gather(*tasks)
    assert woken == [0, 1, 2, 3]


async def test_a_wake_up_with_too_few_idle_makes_the_next_wait_return_at_once() -> None:
    wakeups = Wakeups(claim=10)
    wakeups.wake(1)  # every worker busy claiming or sending
    await asyncio.wait_for(wakeups.wait(60), 1)  # the next to be idle looks again
    tasks, woken = await _idle(wakeups, 1)  # the flag is spent: this one waits
    await asyncio.sleep(0.01)
    assert woken == []
    wakeups.wake(1)
    await asyncio.gather(*tasks)
    assert woken == [0]


async def test_only_one_idle_worker_polls_for_retries_the_others_wait_to_be_woken() -> None:
    wakeups = Wakeups(claim=10)
    polling = asyncio.create_task(wakeups.wait(0.05))  # the first idle worker polls
    await asyncio.sleep(0)
    waiting = asyncio.create_task(wakeups.wait(0.01))  # would have looked again long before the poller
    await polling
    assert not waiting.done()
    wakeups.wake(1)
    await asyncio.wait_for(waiting, 1)


async def test_a_full_claim_wakes_one_idle_worker_more_and_a_partial_one_none() -> None:
    wakeups = Wakeups(claim=10)
    tasks, woken = await _idle(wakeups, 3)
    wakeups.full_claim(9)
    await asyncio.sleep(0.01)
    assert woken == []
    wakeups.full_claim(10)
    await asyncio.sleep(0.01)
    assert woken == [0]
    wakeups.wake()
    await asyncio.gather(*tasks)


async def test_closed_wakeups_wake_every_idle_worker_and_let_no_later_wait_wait_until_opened() -> None:
    wakeups = Wakeups(claim=10)
    tasks, woken = await _idle(wakeups, 3)  # one polls, two wait to be woken
    wakeups.close()
    await asyncio.wait_for(asyncio.gather(*tasks), 1)
    assert sorted(woken) == [0, 1, 2]
    for _ in range(3):  # workers that were busy at the stop come to wait afterwards: none waits
        await asyncio.wait_for(wakeups.wait(60), 1)
    wakeups.open()
    tasks, woken = await _idle(wakeups, 2)
    await asyncio.sleep(0.05)
    assert woken == []  # waiting again
    wakeups.wake()
    await asyncio.gather(*tasks)


def test_notify_serve_stops_within_seconds_of_sigterm_with_its_workers_idle(services: Services) -> None:
    """Its senders idle (one polling, the others waiting to be woken), notify stops at once; a sender
    that came to wait after the stop's wake-up waited for ever, and the process for its 15 s grace."""
    notify = services.start("notify", "serve")
    time.sleep(2)  # every sender has looked for due rows and waits (the poll is 0.5 s)
    started = time.monotonic()
    stopped = notify.terminate(timeout=8)  # SIGKILL after 8 s
    assert time.monotonic() - started < 5, notify.log_tail()
    assert stopped in (0, -signal.SIGTERM), notify.log_tail()  # uvicorn re-raises the signal it handled


async def test_a_committed_mail_is_claimed_by_one_smtp_worker_and_no_webhook_worker(
        database_url: str, nats_url: str, smtp_catcher: SmtpCatcher) -> None:
    settings = NotifySettings(database_url=database_url, nats_url=nats_url, smtp_url=smtp_catcher.url,
                              notify_senders=4, webhook_senders=2, notify_poll_seconds=600)
    running = await start(settings)
    claims = {"mail": 0, "webhook": 0}

    def counted(kind: str, claim: Any) -> Any:
        async def claiming(limit: int) -> Any:
            claims[kind] += 1
            return await claim(limit)
        return claiming

    outbox, hooks = running.admin.outbox, running.webhooks.outbox
    outbox.claim = counted("mail", outbox.claim)  # type: ignore[method-assign]
    hooks.claim = counted("webhook", hooks.claim)  # type: ignore[method-assign]
    try:
        while not (running.notifier.following and claims == {"mail": 4, "webhook": 2}):
            await asyncio.sleep(0.05)  # every worker has looked once and waits (no poll for 10 minutes)
        ticket = History()
        registered = user_registered(REQUESTER, "ann@acme.test")
        await asyncio.to_thread(publish, nats_url, [registered, ticket.opened()])
        [mail] = await asyncio.to_thread(smtp_catcher.wait, 1, 30)
        for _ in range(200):  # the worker that sent it looks once more, finds nothing, and waits
            if claims["mail"] >= 4 + 2:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # room for any claim more (the old wake-up of every worker made 10 and 5)
        assert mail["Subject"].startswith(f"[#{ticket.number}]")
        assert claims == {"mail": 4 + 2, "webhook": 2}  # before: every worker claimed on each commit
    finally:
        await stop(running)

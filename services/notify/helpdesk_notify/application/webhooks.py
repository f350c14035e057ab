"""notify's webhook use case: deliver due webhook events, signed, and record each attempt.

Ports: the outbox (``adapters/webhook_outbox.py``), the secrets (intake, asked with a
service token) and the poster (HTTP to the checked address); ``bootstrap`` wires them.
Deliveries are claimed oldest-due first: a failing one waits out its backoff while
later ones go on, so one bad event never blocks a webhook for good; receivers order
by the CloudEvent's ``sequence`` and deduplicate on ``ce-id``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Literal, Protocol

from helpdesk_notify.domain.webhooks import SIGNATURE_HEADER, RetryPolicy, answer_is_delivered, signature

Outcome = Literal["delivered", "retry", "failed"]


class WebhookFailed(Exception):
    """No answer from the receiver (or no secret, or a refused address); ``permanent``: do not retry."""

    def __init__(self, detail: str, permanent: bool = False) -> None:
        super().__init__(detail)
        self.permanent = permanent


class Due(Protocol):
    id: int
    webhook_id: str
    url: str
    event_id: str
    body: bytes
    attempt: int
    removed: bool


class Outbox(Protocol):
    async def claim(self, limit: int) -> list[Due]: ...
    async def delivered(self, delivery_id: int, status: int, ms: int) -> None: ...
    async def failed(self, delivery_id: int, status: int | None, error: str, retry_in: float | None,
                     ms: int) -> None: ...


class Secrets(Protocol):
    async def get(self, webhook_id: str) -> str: ...


class Poster(Protocol):
    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int: ...


class WebhookSender:
    """Claims a few due deliveries and POSTs each: 2xx is delivered, anything else is tried again later."""

    def __init__(self, outbox: Outbox, secrets: Secrets, poster: Poster, policy: RetryPolicy,
                 wall: Callable[[], float] = time.time, draw: Callable[[float, float], float] = random.uniform,
                 claim: int = 10) -> None:
        self._outbox, self._secrets, self._poster, self._policy = outbox, secrets, poster, policy
        self._wall, self._draw, self._claim = wall, draw, claim

    async def send_due(self) -> list[Outcome]:
        """Deliver the next few due deliveries; an empty list when nothing is due."""
        return [await self._deliver(due) for due in await self._outbox.claim(self._claim)]

    async def _deliver(self, due: Due) -> Outcome:
        started = time.monotonic()
        status: int | None = None
        try:
            if due.removed:
                raise WebhookFailed("the webhook was removed", permanent=True)
            secret = await self._secrets.get(due.webhook_id)
            status = await self._poster.post(due.url, due.body, self._headers(due, secret))
            if answer_is_delivered(status):
                await self._outbox.delivered(due.id, status, _ms(started))
                return "delivered"
            failure = WebhookFailed(f"answered {status}")
        except WebhookFailed as error:
            failure = error
        retry_in = self._policy.after_failure(due.attempt, failure.permanent, self._draw)
        await self._outbox.failed(due.id, status, str(failure), retry_in, _ms(started))
        return "failed" if retry_in is None else "retry"

    def _headers(self, due: Due, secret: str) -> dict[str, str]:
        return {"Content-Type": "application/cloudevents+json", "ce-id": due.event_id,
                SIGNATURE_HEADER: signature(secret, int(self._wall()), due.body),
                "User-Agent": "helpdesk-webhooks/1"}


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)

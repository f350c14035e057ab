"""A steady, modest load of commands and inbound mails, remembering every acknowledged one.

Worker threads share one pace (``rate`` requests a second in all); each request is one of:
a customer opens a ticket, an agent comments on or accepts one, or a mail from a customer's
user comes in through POST /v1/inbound/email. Every answer's status is counted; a request
left without an answer (refused while the process was dead, reset by its death, timed out)
is counted apart, by the kind of failure.
"""

from __future__ import annotations

import collections
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.desk import KS7, Desk
from tests.support.mail import RFC822, message

KINDS = ("open", "open", "comment", "comment", "accept", "mail")


@dataclass(frozen=True)
class Ack:
    """A command the desk acknowledged (2xx): it must be in the store for good."""

    kind: str
    position: int
    ticket_id: str | None
    number: str | None


class Load:
    def __init__(self, desk: Desk, intake_url: str, rate: float, seed: int = 15) -> None:
        self.desk, self.intake_url, self.rate = desk, intake_url, rate
        self.acks: list[Ack] = []
        self.statuses: collections.Counter[int] = collections.Counter()
        self.unanswered: collections.Counter[str] = collections.Counter()  # by httpx error class
        self.server_errors: list[str] = []  # a few 500 answers, for the report
        self._tickets: list[str] = []
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._next = time.monotonic()

    def start(self, workers: int = 4) -> Load:
        self._threads = [threading.Thread(target=self._work, name=f"load-{n}", daemon=True)
                         for n in range(workers)]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    @property
    def sent(self) -> int:
        return sum(self.statuses.values()) + sum(self.unanswered.values())

    def _work(self) -> None:
        with httpx.Client(base_url=self.intake_url, timeout=10) as client:
            while not self._stop.is_set():
                self._wait_turn()
                with self._lock:
                    kind = self._random.choice(KINDS)
                    ticket = self._random.choice(self._tickets) if self._tickets else None
                    n = len(self.acks) + self.sent
                try:
                    response, ticket_id = self._send(client, kind, ticket, n)
                except httpx.TransportError as error:  # refused, reset or timed out: no answer
                    with self._lock:
                        self.unanswered[type(error).__name__] += 1
                    continue
                self._record(kind, response, ticket_id)

    def _wait_turn(self) -> None:
        with self._lock:
            self._next = max(self._next + 1 / self.rate, time.monotonic())
            due = self._next
        self._stop.wait(max(0.0, due - time.monotonic()))

    def _send(self, client: httpx.Client, kind: str, ticket: str | None,
              n: int) -> tuple[httpx.Response, str | None]:
        desk = self.desk
        if kind in ("comment", "accept") and ticket is None:
            kind = "open"
        if kind == "open":
            body = {"subject": f"Chaos {n}", "description": "Steady load.", "details": KS7}
            return client.post("/v1/tickets", json=body, headers=desk.customer), None
        if kind == "comment":
            return client.post(f"/v1/tickets/{ticket}/comments", json={"body": f"Note {n}"},
                               headers=desk.agent), ticket
        if kind == "accept":
            return client.post(f"/v1/tickets/{ticket}/actions/accept", json={}, headers=desk.agent), ticket
        raw = message("user@acme.test", f"Chaos mail {n}", "Sent while things break.")
        return client.post("/v1/inbound/email", content=raw, headers=RFC822), None

    def _record(self, kind: str, response: httpx.Response, ticket_id: str | None) -> None:
        body: dict[str, Any] = {}
        if response.is_success:
            body = response.json()
        with self._lock:
            self.statuses[response.status_code] += 1
            if response.status_code == 500 and len(self.server_errors) < 5:
                self.server_errors.append(f"{response.request.method} {response.request.url}: {response.text[:300]}")
            if not response.is_success:
                return
            ticket_id = ticket_id or body.get("ticket_id") or (body.get("id") if kind == "open" else None)
            position = int(response.headers.get("Helpdesk-Position", 0))
            self.acks.append(Ack(kind, position, ticket_id, body.get("number")))
            if ticket_id and kind in ("open", "mail"):
                self._tickets.append(ticket_id)

"""Hostile mail through POST /v1/inbound/email (in-process, real PostgreSQL and NATS).

Every message is registered, refused with a reason, or — with no readable sender —
answered 400 with nothing recorded; never a 500, never a half-written outcome.
"""

from __future__ import annotations

import time
import typing

from helpdesk_shared.mail_events import RefusalReason
from tests.support.desk import Desk
from tests.support.hostile_mail import corpus
from tests.support.mail import assert_no_half_written_outcome, deliver, message

REASONS = set(typing.get_args(RefusalReason))


def test_hostile_mail_is_registered_or_refused_with_a_reason_and_never_half_written(desk: Desk, database_url):
    desk.open()  # a ticket to reply to: HD-1001
    answers: dict[str, dict] = {}
    started = time.monotonic()
    for n, raw in enumerate(corpus(300)):
        response = deliver(desk.client, raw)
        assert response.status_code in (200, 201, 400), (n, response.status_code, response.text, raw[:300])
        body = response.json()
        if response.status_code == 400:
            assert body["code"] == "validation_failed", body
            continue
        assert body["outcome"] in ("registered", "refused", "forwarded"), body
        assert body["outcome"] != "refused" or body["reason"] in REASONS, body
        answers.setdefault(body["mail_id"], body)
    elapsed = time.monotonic() - started
    events = assert_no_half_written_outcome(database_url)
    assert {e["mail_id"] for e in events} == set(answers)
    assert {b["outcome"] for b in answers.values()} == {"registered", "refused", "forwarded"}
    assert elapsed < 60, f"300 hostile messages took {elapsed:.1f} s"
    assert deliver(desk.client, message("user@acme.test", "Still fine")).status_code == 201

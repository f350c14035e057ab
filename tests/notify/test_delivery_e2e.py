"""Exactly once over SMTP: SIGKILL mid-sending loses nothing and repeats nothing; dead letters and retry."""

from __future__ import annotations

import collections
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpdesk_devstack import SmtpCatcher, free_port

from tests.notify.mail import SlowCatcher, start_stack, user_id
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
TICKETS = 50


def _metric(notify_url: str, name: str) -> float | None:
    text = httpx.get(f"{notify_url}/metrics", timeout=5).text
    match = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else None


def test_card5_sigkill_mid_sending_then_restart_delivers_every_mail_once_by_message_id(services: Any,
                                                                                 tmp_path: Path) -> None:
    # a relay that takes 40 ms per message, so the kill lands while mail is in flight
    with SlowCatcher(tmp_path / "slow-mail", free_port(), delay=0.04) as smtp:
        stack = start_stack(services, {"HELPDESK_SMTP_URL": smtp.url, "HELPDESK_NOTIFY_SENDERS": "2"})
        desk = stack.desk
        with ThreadPoolExecutor(4) as pool:
            opening = [pool.submit(desk.open, subject=f"Printer {n}") for n in range(TICKETS)]
            wait_until(lambda: len(smtp.paths()) >= 5, timeout=30)
            stack.notify.kill()  # SIGKILL: mail in flight, batches uncommitted, no goodbye
            numbers = {future.result()["number"] for future in opening}
        killed_at = len(smtp.paths())
        assert killed_at < TICKETS, "the kill came too late to prove anything"
        stack.notify.start()
        log = wait_until(lambda: (rows := stack.deliveries(state="sent")) and len(rows) == TICKETS and rows,
                         timeout=60)
        mails = smtp.messages()  # everything the server accepted, copies included

    by_id = collections.Counter(m["Message-ID"] for m in mails)
    assert set(by_id) == {row["message_id"] for row in log}  # every mail the log holds arrived
    assert {m["Subject"].split("]")[0].removeprefix("[#") for m in mails} == numbers  # one per ticket
    assert len(log) == TICKETS and stack.deliveries(state="pending") == stack.deliveries(state="dead") == []
    # SMTP cannot be made transactional: a mail whose data reached the server before the kill
    # but whose 'sent' was not yet committed is in doubt, and sent again after the restart.
    # Such a copy carries the same Message-ID (receivers keep one), and there is at most one
    # per SMTP connection: the mail in hand. Every other message arrived exactly once.
    copies = sum(count - 1 for count in by_id.values())
    in_doubt = sum(row["in_doubt"] for row in log)
    print(f"killed after {killed_at} mails; {in_doubt} in doubt, {copies} copies")
    assert copies <= 2 and copies <= in_doubt  # 2 SMTP connections
    assert len(by_id) == TICKETS and sum(by_id.values()) <= TICKETS + 2
    assert all(row["attempts"] == 1 + row["in_doubt"] for row in log)


def test_smtp_failures_back_off_then_go_dead_and_an_admin_retry_delivers(services: Any,
                                                                         tmp_path: Path) -> None:
    port = free_port()  # nothing listens here yet: every attempt is refused
    stack = start_stack(services, {"HELPDESK_SMTP_URL": f"smtp://127.0.0.1:{port}",
                                   "HELPDESK_NOTIFY_MAX_ATTEMPTS": "3",
                                   "HELPDESK_NOTIFY_BACKOFF_SECONDS": "0.2"})
    ticket = stack.desk.open()
    [dead] = wait_until(lambda: stack.deliveries(state="dead"), timeout=20)
    assert (dead["ticket_id"], dead["attempts"], dead["number"]) == (ticket["id"], 3, ticket["number"])
    assert "refused" in dead["last_error"].lower() or "connect" in dead["last_error"].lower()
    url = stack.notify.url
    wait_until(lambda: _metric(url, "helpdesk_notify_outbox_dead") == 1.0, timeout=10)
    assert _metric(url, "helpdesk_notify_mail_failures_total") == 3.0
    assert _metric(url, "helpdesk_notify_mails_dead_total") == 1.0

    with SmtpCatcher(tmp_path / "mail-late", port) as smtp:
        response = stack.admin.post(f"/v1/admin/deliveries/{dead['id']}/retry")
        assert response.status_code == 202, response.text
        [mail] = smtp.wait(1, timeout=10)
        assert mail["Message-ID"] == dead["message_id"]
        delivery = f"/v1/admin/deliveries/{dead['id']}"
        wait_until(lambda: stack.admin.get(delivery).json()["state"] == "sent")
        again = stack.admin.post(f"/v1/admin/deliveries/{dead['id']}/retry")
        assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    wait_until(lambda: _metric(url, "helpdesk_notify_outbox_dead") == 0.0, timeout=10)
    assert _metric(url, "helpdesk_notify_mails_sent_total") == 1.0


def test_admin_endpoints_are_for_admins(services: Any) -> None:
    stack = start_stack(services)
    notify = stack.notify.url
    for headers, status in ((stack.desk.customer, 403), (stack.desk.agent, 403), ({}, 401)):
        assert httpx.get(f"{notify}/v1/admin/deliveries", headers=headers).status_code == status
        response = httpx.put(f"{notify}/v1/admin/contacts/u1", json={"email": "a@b.c"}, headers=headers)
        assert response.status_code == status
        assert response.headers["content-type"].startswith("application/problem+json")
        assert httpx.delete(f"{notify}/v1/admin/contacts/u1", headers=headers).status_code == status
    assert httpx.get(f"{notify}/v1/admin/deliveries", headers=stack.desk.auditor).status_code == 200
    agent = f"{notify}/v1/admin/contacts/{user_id(stack.desk.agent)}"  # learnt from helpdesk.user.*.registered
    contact = wait_until(
        lambda: (r := httpx.get(agent, headers=stack.desk.auditor)).status_code == 200 and r.json())
    assert (contact["email"], contact["in_directory"], contact["override"]) == ("agent@desk.test", True, None)
    bad = stack.admin.put("/v1/admin/contacts/u1", json={"email": "not an address", "language": "de"})
    assert bad.status_code == 400 and bad.json()["code"] == "validation_failed"
    assert stack.admin.get("/v1/admin/deliveries", params={"state": "lost"}).status_code == 400
    assert stack.admin.post("/v1/admin/deliveries/999/retry").status_code == 404

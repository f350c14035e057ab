"""Signed webhooks (CONTRACT §10, issue #14 item 10), with intake, its relay and notify as real processes.

A real HTTP receiver on 127.0.0.1 records every request. Registrations to private,
link-local and metadata addresses are refused at validation, before any connection
(the tests send nothing to a non-loopback address).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import httpx
import psycopg
import pytest

from tests.support.desk import Desk, provision
from tests.support.processes import ADMIN_TOKEN, ServiceProcess, Services
from tests.support.receiver import Receiver, receiver
from tests.support.stream import read_all
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e]
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
LOOPBACK = {"HELPDESK_WEBHOOK_ALLOW_LOOPBACK": "true"}
FAST_RETRIES = {**LOOPBACK, "HELPDESK_WEBHOOK_BACKOFF_SECONDS": "0.2", "HELPDESK_WEBHOOK_MAX_ATTEMPTS": "3",
                "HELPDESK_NOTIFY_POLL_SECONDS": "0.1"}


def _register(client: httpx.Client, url: str, subjects: list[str], secret: str) -> httpx.Response:
    return client.post("/v1/webhooks", json={"url": url, "subjects": subjects, "secret": secret}, headers=ADMIN)


def _hook(client: httpx.Client, url: str, subjects: list[str], secret: str) -> str:
    response = _register(client, url, subjects, secret)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _verify(secret: str, received: Any) -> None:
    """The contract's formula: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>."""
    fields = dict(part.split("=", 1) for part in received.headers["helpdesk-signature"].split(","))
    expected = hmac.new(secret.encode(), f"{fields['t']}.".encode() + received.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(fields["v1"], expected), "the signature must verify with the secret"
    assert abs(int(fields["t"]) - time.time()) < 120


def _log(notify: ServiceProcess, hook: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{notify.url}/v1/webhooks/{hook}/deliveries", headers=ADMIN, timeout=10)
    return response.json()["items"] if response.status_code == 200 else []


REFUSED = (
    "http://example.com/hook",  # plain http beyond loopback: refused by its form, no DNS asked
    "https://10.0.0.1/hook", "https://192.168.1.1/hook", "https://172.16.5.4/hook", "https://100.64.0.7/hook",
    "https://169.254.169.254/latest/meta-data/", "https://[fe80::1]/hook", "https://[fd00:ec2::254]/hook",
    "https://[::ffff:10.0.0.1]/hook", "https://0.0.0.0/hook", "https://224.0.0.1/hook", "ftp://127.0.0.1/hook",
    "https://user:pw@127.0.0.1/hook",
)


def test_platform_webhooks_registration_refuses_private_link_local_and_metadata_addresses(
        services: Services) -> None:
    intake = services.start("intake", "serve", env=LOOPBACK)
    with httpx.Client(base_url=intake.url, timeout=10) as client:
        for url in REFUSED:
            refused = _register(client, url, ["helpdesk.ticket.>"], "s" * 32)
            assert refused.status_code == 422, f"{url}: {refused.text}"
            problem = refused.json()
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert problem["code"] == "validation_failed" and problem["errors"][0]["field"] == "url", url
        assert client.get("/v1/webhooks", headers=ADMIN).json()["items"] == []


def test_platform_webhooks_registration_validates_subjects_secret_and_role(services: Services) -> None:
    intake = services.start("intake", "serve", env=LOOPBACK)
    with httpx.Client(base_url=intake.url, timeout=10) as client:
        for subjects, secret, field in ((["helpdesk.>.opened"], "s" * 16, "subjects"), (["other.>"], "s" * 16,
                                        "subjects"), ([], "s" * 16, None), (["helpdesk.ticket.>"], "short", "secret")):
            refused = _register(client, "http://127.0.0.1:9/hook", subjects, secret)
            assert refused.status_code in (400, 422), refused.text
            assert refused.json()["code"] == "validation_failed"
            if field:
                assert refused.json()["errors"][0]["field"] == field
        desk = provision(client)
        forbidden = client.post("/v1/webhooks", headers=desk.agent, json={
            "url": "http://127.0.0.1:9/hook", "subjects": ["helpdesk.ticket.>"], "secret": "s" * 16})
        assert forbidden.status_code == 403
        hook = _hook(client, "http://localhost:9/hook", ["helpdesk.ticket.>"], "s" * 16)
        listed = client.get("/v1/webhooks", headers=ADMIN).json()["items"]
        assert [h["id"] for h in listed] == [hook] and "secret" not in listed[0]
        assert client.get(f"/v1/webhooks/{hook}/secret", headers=ADMIN).status_code == 403, "admins never read it"
        assert client.delete(f"/v1/webhooks/{hook}", headers=ADMIN).status_code == 200
        assert client.get(f"/v1/webhooks/{hook}", headers=ADMIN).status_code == 404
        assert client.delete(f"/v1/webhooks/{hook}", headers=ADMIN).status_code == 409


def _desk(services: Services) -> tuple[ServiceProcess, ServiceProcess, httpx.Client, Desk]:
    intake = services.start("intake", "serve", env=LOOPBACK)
    services.start("intake", "relay")
    notify = services.start("notify", "serve", env=FAST_RETRIES)
    client = httpx.Client(base_url=intake.url, timeout=30)
    return intake, notify, client, provision(client)


def test_platform_webhooks_deliver_signed_cloudevents_with_retries_filters_and_a_delivery_log(
        services: Services, nats_url: str) -> None:
    secret = f"whsec-{uuid.uuid4().hex}"
    with receiver() as hooks:
        _, notify, client, desk = _desk(services)
        every = _hook(client, hooks.url("/all"), ["helpdesk.ticket.>"], secret)
        opened = _hook(client, hooks.url("/opened"), ["helpdesk.ticket.*.opened"], secret)
        flaky = _hook(client, hooks.url("/flaky"), ["helpdesk.ticket.*.opened"], secret)
        down = _hook(client, hooks.url("/down"), ["helpdesk.ticket.*.opened"], secret)
        hooks.script("/flaky", 500, 500)
        hooks.defaults["/down"] = 503
        ticket = desk.open()["id"]

        [first] = wait_until(lambda: hooks.at("/all"), timeout=30)
        [event] = read_all(nats_url, f"helpdesk.ticket.{ticket}.opened")
        assert first.body == event.data, "the same CloudEvent, byte for byte"
        assert first.headers["ce-id"] == json.loads(first.body)["id"] == event.headers["Nats-Msg-Id"]
        assert first.headers["content-type"] == "application/cloudevents+json"
        _verify(secret, first)

        [delivery] = wait_until(lambda: [d for d in _log(notify, flaky) if d["state"] == "delivered"], timeout=30)
        assert [r.status for r in hooks.at("/flaky")] == [500, 500, 200], "delivered on the third attempt"
        assert delivery["event_id"] == first.headers["ce-id"]
        assert [a["status"] for a in delivery["attempts_log"]] == [500, 500, 200]
        assert len({r.headers["ce-id"] for r in hooks.at("/flaky")}) == 1, "a stable id across retries"

        [dead] = wait_until(lambda: [d for d in _log(notify, down) if d["state"] == "failed"], timeout=30)
        assert [a["status"] for a in dead["attempts_log"]] == [503, 503, 503]
        hooks.defaults["/down"] = 200
        for n in (10**30, 999_999):
            missing = httpx.post(f"{notify.url}/v1/webhooks/{down}/deliveries/{n}/retry", headers=ADMIN)
            assert missing.status_code in (400, 404) and missing.json()["code"] in ("validation_failed", "not_found")
        assert httpx.get(f"{notify.url}/v1/webhooks/{uuid.uuid4()}/deliveries", headers=ADMIN).status_code == 404
        retried = httpx.post(f"{notify.url}/v1/webhooks/{down}/deliveries/{dead['id']}/retry", headers=ADMIN)
        assert retried.status_code == 202, retried.text
        wait_until(lambda: [d["state"] for d in _log(notify, down)] == ["delivered"], timeout=30)
        assert [a["status"] for a in _log(notify, down)[0]["attempts_log"]] == [503, 503, 503, 200]
        _verify(secret, hooks.at("/down")[-1])

        assert client.post(f"/v1/tickets/{ticket}/comments", json={"body": "on it"},
                           headers=desk.agent).status_code == 201
        assert client.delete(f"/v1/webhooks/{opened}", headers=ADMIN).status_code == 200
        desk.open()
        wait_until(lambda: len(hooks.at("/all")) == 3 and len(hooks.at("/flaky")) == 4, timeout=30)
        types = sorted(json.loads(r.body)["type"] for r in hooks.at("/all"))
        assert types == ["helpdesk.ticket.comment_added", "helpdesk.ticket.opened", "helpdesk.ticket.opened"]
        assert len(hooks.at("/opened")) == 1, "no comment for a *.opened filter, nothing after its removal"
        assert _log(notify, every) and len(_log(notify, opened)) == 1

        stream = read_all(nats_url, ">")
        assert any(m.subject.startswith("helpdesk.webhook.") for m in stream)
        assert not any(secret.encode() in m.data or secret in json.dumps(m.headers) for m in stream), \
            "the secret never reaches the stream"
        client.close()


def test_platform_webhooks_no_duplicates_when_notify_is_killed_mid_way(
        services: Services, database_url: str) -> None:
    secret = "s" * 24
    with receiver() as hooks:
        _, notify, client, desk = _desk(services)
        hook = _hook(client, hooks.url("/all"), ["helpdesk.ticket.*.opened"], secret)
        hooks.delay = 0.05
        tickets = [desk.open()["id"] for _ in range(30)]
        wait_until(lambda: len(hooks.at("/all")) >= 5, timeout=30)
        notify.kill()  # SIGKILL: deliveries in flight, a consumer batch uncommitted
        killed_at = len(hooks.at("/all"))
        assert killed_at < 30, "the kill came too late to prove anything"
        notify.start()
        wait_until(lambda: {json.loads(r.body)["subject"] for r in hooks.at("/all")} >= set(tickets), timeout=60)
        ids = [r.headers["ce-id"] for r in hooks.at("/all")]
        print(f"killed after {killed_at} deliveries; {len(ids) - len(set(ids))} sent twice")
        assert len(ids) - len(set(ids)) <= 2, f"at most the one in hand per worker is sent twice: {len(ids)} sent"
        with psycopg.connect(database_url) as conn:
            rows = conn.execute("SELECT count(*), count(DISTINCT event_id) FROM notify.webhook_deliveries"
                                " WHERE webhook_id = %s", (hook,)).fetchone()
        assert rows == (30, 30), f"one delivery per event, whatever the stream redelivered: {rows}"
        for received in hooks.at("/all"):
            _verify(secret, received)
        client.close()

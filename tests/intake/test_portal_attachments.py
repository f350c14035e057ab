"""TEL-8 in the portal: POST /v1/tickets/{id}/attachments in-process, over the real PostgreSQL and NATS."""

from __future__ import annotations

import hashlib
from pathlib import Path

from helpdesk_devstack import free_port
from helpdesk_devstack.nats import EmbeddedNats
from litestar.testing import TestClient

from helpdesk_intake.bootstrap import create_app
from helpdesk_intake.settings import IntakeSettings
from tests.support.desk import Desk, provision
from tests.support.mail import ticket_events
from tests.support.tokens import session_keys_dir
from tests.support.processes import ADMIN_TOKEN
from tests.support.stream import fetch_attachment
from tests.support.waiting import wait_until

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
LOG = "строка 1\nстрока 2\n".encode()


def upload(desk: Desk, ticket_id: str, files: list[tuple[str, bytes, str]], headers: dict[str, str] | None = None,
           **fields: str):
    """POST the files (name, content, type) as ``file`` parts, with ``fields`` as text parts."""
    parts = [("file", (name, content, kind)) for name, content, kind in files]
    return desk.client.post(f"/v1/tickets/{ticket_id}/attachments", files=parts, data=fields,
                            headers=headers or desk.customer)


def problem(response, status: int, code: str) -> bool:
    return (response.status_code == status and response.headers["content-type"].startswith("application/problem+json")
            and response.json()["code"] == code)


def test_tel8_a_customer_attaches_files_stored_by_sha256_and_carried_by_one_comment(desk: Desk, database_url,
                                                                                       nats_url):
    ticket = desk.open()
    files = [("скриншот экрана.png", PNG, "image/png"), ("журнал.txt", LOG, "text/plain")]
    response = upload(desk, ticket["id"], files, body="The error on screen")
    assert response.status_code == 201, response.text
    answer = response.json()
    assert {k: answer[k] for k in ("id", "number", "status", "version")} == {**ticket, "version": 2}
    assert int(response.headers["Helpdesk-Position"]) > 0
    assert answer["attachments"] == [
        {"id": hashlib.sha256(content).hexdigest(), "filename": name, "content_type": kind, "size": len(content)}
        for name, content, kind in files]
    for attachment, (_, content, _) in zip(answer["attachments"], files):
        assert fetch_attachment(nats_url, attachment["id"]) == content
    *_, comment = ticket_events(database_url, ticket["id"])
    assert (comment["kind"], comment["body"], comment["visibility"]) == (
        "CommentAdded", "The error on screen", "public")
    assert comment["actor_role"] == "customer" and comment["message_id"] is None
    assert [a["_data_"] for a in comment["attachments"]] == answer["attachments"]


def test_tel8_an_agent_attaches_an_internal_file_and_without_a_body_the_text_names_the_files(desk: Desk,
                                                                                              database_url):
    ticket = desk.open()
    response = upload(desk, ticket["id"], [("dump.sql", b"-- pg_dump\n", "application/sql"),
                                           ("../logs/trace.log", b"trace", "no type")],
                      headers=desk.agent, visibility="internal")
    assert response.status_code == 201, response.text
    assert [a["filename"] for a in response.json()["attachments"]] == ["dump.sql", "_logs_trace.log"]
    assert response.json()["attachments"][1]["content_type"] == "application/octet-stream"
    *_, comment = ticket_events(database_url, ticket["id"])
    assert (comment["body"], comment["visibility"], comment["actor_role"]) == (
        "Attached: dump.sql, _logs_trace.log", "internal", "agent")


def test_tel8_a_customer_may_not_attach_internally_nor_to_another_customers_ticket(desk: Desk, event_count):
    ticket = desk.open()
    events = event_count()
    internal = upload(desk, ticket["id"], [("a.png", PNG, "image/png")], visibility="internal")
    assert problem(internal, 403, "forbidden") and "internal" in internal.json()["detail"]
    theirs = upload(desk, ticket["id"], [("a.png", PNG, "image/png")], headers=desk.other_customer)
    assert problem(theirs, 404, "not_found")
    auditor = upload(desk, ticket["id"], [("a.png", PNG, "image/png")], headers=desk.auditor)
    assert problem(auditor, 403, "forbidden")
    assert event_count() == events


def test_tel8_over_the_attachment_limits_is_413_and_nothing_is_stored_or_recorded(database_url, nats_url,
                                                                                    event_count):
    settings = IntakeSettings(database_url=database_url, nats_url=nats_url, admin_token=ADMIN_TOKEN,
                              jwt_keys_dir=str(session_keys_dir()), inbound_max_attachment_bytes=1000, inbound_max_attachments=2)
    with TestClient(create_app(settings)) as client:
        desk = provision(client)
        ticket = desk.open()
        events = event_count()
        big = b"x" * 1001
        too_large = upload(desk, ticket["id"], [("small.txt", b"ok", "text/plain"), ("big.bin", big, "image/png")])
        assert problem(too_large, 413, "payload_too_large") and "big.bin" in too_large.json()["detail"]
        too_many = upload(desk, ticket["id"], [(f"{n}.txt", b"ok", "text/plain") for n in range(3)])
        assert problem(too_many, 413, "payload_too_large")
        # Over the body limit of the route itself (2 × 1000 bytes + a command's 1 MiB): refused before parsing.
        huge = upload(desk, ticket["id"], [("huge.bin", b"x" * (2 * 1024 * 1024), "application/octet-stream")])
        assert problem(huge, 413, "payload_too_large")
        assert upload(desk, ticket["id"], [("fits.bin", b"x" * 1000, "image/png")]).status_code == 201
    assert event_count() == events + 1
    assert fetch_attachment(nats_url, hashlib.sha256(big).hexdigest()) is None
    assert fetch_attachment(nats_url, hashlib.sha256(b"ok").hexdigest()) is None


def test_tel8_no_file_or_a_body_that_is_not_multipart_is_400_never_500(desk: Desk, event_count):
    ticket = desk.open()
    path = f"/v1/tickets/{ticket['id']}/attachments"
    events = event_count()
    no_file = desk.client.post(path, files={"body": (None, "text only")}, headers=desk.customer)
    assert problem(no_file, 400, "validation_failed") and "no file" in no_file.json()["detail"]
    text_as_file = desk.client.post(path, files={"file": (None, "not a file")}, headers=desk.customer)
    assert problem(text_as_file, 400, "validation_failed")
    wrong_name = desk.client.post(path, files={"screenshot": ("a.png", PNG, "image/png")}, headers=desk.customer)
    assert problem(wrong_name, 400, "validation_failed")
    empty = upload(desk, ticket["id"], [("empty.txt", b"", "text/plain")])
    assert problem(empty, 400, "validation_failed")
    bad_fields = [{"visibility": "secret"}, {"colour": "red"}]
    for fields in bad_fields:
        assert problem(upload(desk, ticket["id"], [("a.txt", b"a", "text/plain")], **fields), 400, "validation_failed")
    multipart = "multipart/form-data; boundary=XyZ"
    malformed = [
        (multipart, b"not multipart at all"),
        (multipart, b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\nabc"),
        (multipart, b"--XyZ\r\nNo-Colon-Header\r\n\r\nabc\r\n--XyZ--\r\n"),
        (multipart, b"--XyZ\r\nContent-Disposition: attachment\r\n\r\nabc\r\n--XyZ--\r\n"),
        (multipart, b"--XyZ\r\nContent-Disposition: form-data; name=\"body\"\r\n"
                    b"Content-Type: text/plain; charset=no-such-charset\r\n\r\nabc\r\n--XyZ--\r\n"),
        (multipart, b"--XyZ\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\n\xff\xfe\r\n--XyZ--\r\n"),
        (multipart, b"--XyZ\r\nContent-Disposition: form-data; name=\"f\xffle\"\r\n\r\nabc\r\n--XyZ--\r\n"),
        ("multipart/form-data", b"--XyZ\r\n\r\n--XyZ--\r\n"),  # no boundary
        (multipart, b""),
    ]
    for content_type, body in malformed:
        response = desk.client.post(path, content=body, headers={**desk.customer, "Content-Type": content_type})
        assert problem(response, 400, "validation_failed"), (body, response.text)
    json_body = desk.client.post(path, json={"body": "where is the file?"}, headers=desk.customer)
    assert problem(json_body, 415, "unsupported_media_type")
    assert event_count() == events


def test_tel8_a_repeated_idempotency_key_answers_the_first_upload_and_appends_nothing(desk: Desk, event_count):
    ticket = desk.open()
    keyed = {**desk.customer, "Idempotency-Key": "upload-1"}
    first = upload(desk, ticket["id"], [("a.png", PNG, "image/png")], headers=keyed, body="see")
    assert first.status_code == 201, first.text
    events = event_count()
    again = upload(desk, ticket["id"], [("a.png", PNG, "image/png")], headers=keyed, body="see")  # a new boundary
    assert (again.status_code, again.json(), again.headers["Helpdesk-Position"]) == (
        201, first.json(), first.headers["Helpdesk-Position"])
    other = upload(desk, ticket["id"], [("b.png", PNG, "image/png")], headers=keyed, body="see")
    assert problem(other, 422, "validation_failed")
    # The same envelope as every command: a stale If-Match is refused too.
    stale = upload(desk, ticket["id"], [("a.png", PNG, "image/png")], headers={**desk.customer, "If-Match": '"1"'})
    assert problem(stale, 412, "version_conflict")
    assert event_count() == events


def test_ks4_a_customers_attachment_on_a_ticket_awaiting_them_is_the_clarification(desk: Desk, database_url):
    ticket = desk.open()
    assert desk.act(ticket["id"], "accept").status_code == 200
    assert desk.act(ticket["id"], "request_clarification", comment="Which printer?").status_code == 200
    response = upload(desk, ticket["id"], [("printer.png", PNG, "image/png")])
    assert response.status_code == 201 and response.json()["status"] == "in_progress"
    *_, comment, received = ticket_events(database_url, ticket["id"])
    assert (comment["kind"], received["kind"]) == ("CommentAdded", "ClarificationReceived")
    assert (received["from_status"], received["to_status"]) == ("awaiting_customer", "in_progress")


def test_tel8_nats_down_is_503_not_ready_nothing_is_recorded_and_a_retry_succeeds(database_url, tmp_path: Path,
                                                                                   event_count):
    nats_server = EmbeddedNats(tmp_path / "nats", free_port()).start()
    settings = IntakeSettings(database_url=database_url, nats_url=nats_server.url, admin_token=ADMIN_TOKEN,
                              jwt_keys_dir=str(session_keys_dir()))
    try:
        with TestClient(create_app(settings)) as client:
            desk = provision(client)
            ticket = desk.open()
            events = event_count()
            nats_server.stop()
            down = upload(desk, ticket["id"], [("a.png", PNG, "image/png")])
            assert problem(down, 503, "not_ready") and down.headers["Retry-After"]
            assert event_count() == events
            nats_server.start()  # the same port and store: the client reconnects
            retried = wait_until(lambda: (r := upload(desk, ticket["id"], [("a.png", PNG, "image/png")]))
                                 .status_code == 201 and r, timeout=30)
            assert retried.json()["attachments"][0]["id"] == hashlib.sha256(PNG).hexdigest()
            assert event_count() == events + 1
    finally:
        nats_server.stop()

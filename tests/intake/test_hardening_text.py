"""Issue #15 item 1 at the edge: a command holding a character no stored text may hold is refused
with a 422 naming the field, and nothing is stored — in any JSON field, nested or not, in a
multipart text part or a file name, and in a path id (which answers 404, never a 500)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.intake.test_bad_input import assert_problem
from tests.support.desk import Desk

TICKET = {"subject": "Printer", "description": "It is on fire"}
USER = {"name": "Ann", "email": "ann@acme.test", "login": "ann-x", "password": "correct horse battery"}
STAFF = {**USER, "login": "bob-x", "role": "agent"}
CUSTOMER = {"name": "X", "email": "it@x.test", "policy": "keysystems"}
POISON = "bad\x00text"
# Every command text field the issue names: (field, method, path — {t} a ticket, {c} a customer —, body, caller).
FIELDS: list[tuple[str, str, str, dict[str, Any], str]] = [
    ("subject", "POST", "/v1/tickets", {**TICKET, "subject": POISON}, "customer"),
    ("description", "POST", "/v1/tickets", {**TICKET, "description": POISON}, "customer"),
    ("service", "POST", "/v1/tickets", {**TICKET, "service": POISON}, "customer"),
    ("details.steps", "POST", "/v1/tickets", {**TICKET, "details": {"steps": POISON}}, "customer"),
    ("body", "POST", "/v1/tickets/{t}/comments", {"body": POISON}, "customer"),
    ("release", "PATCH", "/v1/tickets/{t}", {"release": POISON}, "agent"),
    ("department", "PATCH", "/v1/tickets/{t}", {"department": POISON}, "agent"),
    ("note", "POST", "/v1/tickets/{t}/time-entries", {"minutes": 5, "note": POISON}, "agent"),
    ("comment", "POST", "/v1/tickets/{t}/actions/accept", {"comment": POISON}, "agent"),
    ("reason", "POST", "/v1/tickets/{t}/actions/reject", {"reason": POISON}, "agent"),
    ("name", "POST", "/v1/customers", {**CUSTOMER, "name": POISON}, "admin"),
    ("client_code", "POST", "/v1/customers", {**CUSTOMER, "client_code": POISON}, "admin"),
    ("policy", "PATCH", "/v1/customers/{c}", {"policy": POISON}, "admin"),
    ("name", "POST", "/v1/customers/{c}/users", {**USER, "name": POISON}, "admin"),
    ("phone", "POST", "/v1/customers/{c}/users", {**USER, "phone": POISON}, "admin"),
    ("name", "POST", "/v1/staff", {**STAFF, "name": POISON}, "admin"),
    ("department", "POST", "/v1/staff", {**STAFF, "department": POISON}, "admin"),
]


def _errors(response) -> list[str]:
    body = assert_problem(response, 422, "validation_failed")
    return [e["field"] for e in body["errors"]]


@pytest.mark.parametrize(("field", "method", "path", "body", "caller"), FIELDS,
                         ids=[f"{m} {p} {f}" for f, m, p, *_ in FIELDS])
def test_hardening_poison_pill_nul_in_any_command_field_is_422_naming_it_and_nothing_is_stored(
        desk: Desk, event_count, field: str, method: str, path: str, body: dict[str, Any], caller: str) -> None:
    ticket = desk.open()
    events = event_count()
    response = desk.client.request(method, path.format(t=ticket["id"], c=desk.customer_id), json=body,
                                   headers=getattr(desk, caller))
    assert _errors(response) == [field], response.text
    assert "U+0000" in response.json()["detail"]
    assert event_count() == events


@pytest.mark.parametrize("character", ["\x00", "\x01", "\x0b", "\x0c", "\x1b", "\x7f", "\x85"])
def test_hardening_poison_pill_control_characters_are_refused(desk: Desk, event_count, character: str) -> None:
    events = event_count()
    response = desk.client.post("/v1/tickets", json={**TICKET, "description": f"a{character}b"},
                                headers=desk.customer)
    assert _errors(response) == ["description"]
    assert f"U+{ord(character):04X}" in response.json()["detail"]
    assert event_count() == events


def test_hardening_poison_pill_every_bad_field_is_named_and_unknown_keys_are_cleaned(desk: Desk) -> None:
    body = {"subject": "a\x00", "description": "ok", "details": {"st\x00eps": ["fine", "x\x0cy"]}}
    response = desk.client.post("/v1/tickets", json=body, headers=desk.customer)
    assert _errors(response) == ["subject", "details.steps", "details.steps[1]"]


def test_hardening_poison_pill_tab_newline_and_carriage_return_stay(desk: Desk) -> None:
    ticket = desk.open(subject="Printer\tA", description="line 1\r\nline 2\n\tindented")
    assert ticket["status"] == "new"
    comment = desk.client.post(f"/v1/tickets/{ticket['id']}/comments", json={"body": "a\tb\nc"},
                               headers=desk.customer)
    assert comment.status_code == 201, comment.text


def test_hardening_poison_pill_lone_surrogates_in_json_never_reach_the_store(desk: Desk, event_count) -> None:
    """JSON's decoder already refuses them (400): this keeps it so."""
    events = event_count()
    for raw in (rb'{"subject": "\ud800", "description": "d"}', rb'{"subject": "s", "description": "\udc00"}'):
        response = desk.client.post("/v1/tickets", content=raw,
                                    headers={**desk.customer, "Content-Type": "application/json"})
        assert response.status_code in (400, 422), response.text
    assert event_count() == events


BOUNDARY = "edge-boundary"


def _multipart(*parts: tuple[bytes, bytes]) -> bytes:
    """Raw multipart parts (header lines, content): what httpx would not send."""
    chunks = [b"--" + BOUNDARY.encode() + b"\r\n" + headers + b"\r\n\r\n" + content + b"\r\n"
              for headers, content in parts]
    return b"".join(chunks) + b"--" + BOUNDARY.encode() + b"--\r\n"


def _file(filename: bytes) -> tuple[bytes, bytes]:
    return (b'Content-Disposition: form-data; name="file"; filename="' + filename + b'"\r\n'
            b"Content-Type: text/plain", b"content")


@pytest.mark.parametrize(("field", "parts"), [
    ("body", [(b'Content-Disposition: form-data; name="body"', b"see\x00this"), _file(b"a.txt")]),
    ("body", [(b'Content-Disposition: form-data; name="body"\r\nContent-Type: text/plain; charset=utf-7',
               b"see +2AA- this"), _file(b"a.txt")]),  # UTF-7 decodes to a lone surrogate
    ("body", [(b'Content-Disposition: form-data; name="body"', b"page\x0cbreak"), _file(b"a.txt")]),
    ("file.filename", [_file(b"a\x00.txt")]),
    ("file.filename", [_file(b"a\x1b[31m.txt")]),
])
def test_hardening_poison_pill_multipart_text_and_file_names_are_422_naming_the_field(
        desk: Desk, event_count, field: str, parts: list[tuple[bytes, bytes]]) -> None:
    ticket = desk.open()
    events = event_count()
    response = desk.client.post(f"/v1/tickets/{ticket['id']}/attachments", content=_multipart(*parts),
                                headers={**desk.customer,
                                         "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    assert _errors(response) == [field], response.text
    assert event_count() == events


@pytest.mark.parametrize("path", ["/v1/tickets/x%00y/comments", "/v1/tickets/%0C/actions/accept",
                                  "/v1/tickets/{t}/actions/acc%00ept", "/v1/customers/%00/users",
                                  "/v1/tickets/%C2%85/time-entries"])
def test_hardening_path_ids_with_control_characters_are_404(desk: Desk, event_count, path: str) -> None:
    ticket = desk.open()
    events = event_count()
    response = desk.client.post(path.format(t=ticket["id"]), json={"body": "b", "minutes": 1},
                                headers=desk.admin)
    assert_problem(response, 404, "not_found")
    assert "\x00" not in response.json()["detail"]
    assert event_count() == events


@pytest.mark.parametrize("depth", [990, 5000])
def test_hardening_deeply_nested_json_is_400_never_500(desk: Desk, event_count, depth: int) -> None:
    events = event_count()
    raw = b'{"subject": "s", "description": "d", "details": ' + b"[" * depth + b"]" * depth + b"}"
    response = desk.client.post("/v1/tickets", content=raw,
                                headers={**desk.customer, "Content-Type": "application/json"})
    assert_problem(response, 400, "validation_failed")
    assert event_count() == events

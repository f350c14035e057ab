"""TEL-8 end to end: a file attached in the portal (intake) is downloaded from the query service.

intake, its relay and query run as real processes; reads wait on the position the upload answered.
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.query.desk import Caller, Desk

pytestmark = [pytest.mark.e2e]

SCREENSHOT = "Снимок экрана — ошибка печати.png"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64


@pytest.fixture
def desk(services: Any) -> Iterator[Desk]:
    intake = services.start("intake", "serve")
    services.start("intake", "relay")
    query = services.start("query", "serve")
    client = Desk(intake.url, query.url)
    try:
        yield client
    finally:
        client.close()


def attach(desk: Desk, caller: Caller, ticket_id: str, name: str, content: bytes, kind: str,
           **fields: str) -> tuple[dict[str, Any], int]:
    response = desk.intake.post(f"/v1/tickets/{ticket_id}/attachments", files={"file": (name, content, kind)},
                                data=fields, headers=caller.auth)
    assert response.status_code == 201, response.text
    return response.json(), int(response.headers["Helpdesk-Position"])


def download(desk: Desk, caller: Caller, url: str) -> httpx.Response:
    return desk.query.get(url, headers=caller.auth)


def test_tel8_a_screenshot_attached_in_the_portal_is_downloadable_by_those_who_see_the_ticket(desk: Desk) -> None:
    ann, greg, bob = desk.customer("acme"), desk.customer("globex"), desk.staff("agent")
    opened, _ = desk.command(ann, "POST", "/v1/tickets", {"subject": "Счета не печатаются",
                                                          "description": "Печать зависает."})
    tid = opened["id"]
    answer, position = attach(desk, ann, tid, SCREENSHOT, PNG, "image/png", body="Вот что на экране")
    (sent,) = answer["attachments"]
    assert sent == {"id": hashlib.sha256(PNG).hexdigest(), "filename": SCREENSHOT, "content_type": "image/png",
                    "size": len(PNG)}

    detail = desk.read(ann, f"/v1/tickets/{tid}", position).json()
    (listed,) = detail["attachments"]
    comment = detail["comments"][-1]
    assert {k: listed[k] for k in sent} == sent and listed["comment_id"] == comment["id"]
    assert comment["body"] == "Вот что на экране"
    for caller in (ann, bob):
        response = download(desk, caller, listed["url"])
        assert response.status_code == 200, response.text
        assert (response.content, response.headers["content-type"]) == (PNG, "image/png")
    assert download(desk, greg, listed["url"]).status_code == 404

    note, position = attach(desk, bob, tid, "dump.sql", b"-- pg_dump\n", "application/sql", visibility="internal")
    internal_url = f"/v1/tickets/{tid}/attachments/{note['attachments'][0]['id']}"
    staff_view = desk.read(bob, f"/v1/tickets/{tid}", position).json()
    assert [a["url"] for a in staff_view["attachments"]] == [listed["url"], internal_url]
    assert download(desk, bob, internal_url).content == b"-- pg_dump\n"
    hidden = download(desk, ann, internal_url)
    assert (hidden.status_code, hidden.json()["code"]) == (404, "not_found")
    assert [a["url"] for a in desk.read(ann, f"/v1/tickets/{tid}", position).json()["attachments"]] == [listed["url"]]


def test_hardening_an_oversize_attachment_upload_answers_413_to_urllib(desk: Desk) -> None:
    """Refused before it is read, the upload is still read (and thrown away) so the client hears why."""
    ann = desk.customer("acme")
    opened, _ = desk.command(ann, "POST", "/v1/tickets", {"subject": "Большой файл", "description": "Видео."})
    boundary = "helpdesk-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"video.mp4\"\r\n"
            f"Content-Type: video/mp4\r\n\r\n").encode() + b"\0" * (30 * 1024 * 1024) + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(f"{desk.intake.base_url}/v1/tickets/{opened['id']}/attachments", data=body,
                                     method="POST", headers={**ann.auth,
                                                             "Content-Type": f"multipart/form-data; boundary={boundary}"})

    def post() -> urllib.error.HTTPError:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=60)
        return refused.value

    with ThreadPoolExecutor(1) as pool:  # a client thread, as a script uploading a file would be
        error = pool.submit(post).result(timeout=120)
    assert error.code == 413 and json.loads(error.read())["code"] == "payload_too_large"

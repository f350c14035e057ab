"""Attachments through the query service (issue #6): listed with the ticket, downloaded by who may see them.

The bytes go into the object store as intake stores them; the facts naming them are
published by hand onto the stream, as the relay would; query runs as a real process.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from helpdesk_shared import attachments
from helpdesk_shared import events as ev
from helpdesk_shared.vocabulary import Role, Status, Visibility

from tests.query.handmade import Story, publish_story, start_query, token

pytestmark = [pytest.mark.e2e]
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
ANN, GREG = ev.Actor("ann", Role.CUSTOMER), ev.Actor("greg", Role.CUSTOMER)
BOB = ev.Actor("bob", Role.AGENT)
CALLERS = {"ann": token("ann", Role.CUSTOMER, "acme"), "greg": token("greg", Role.CUSTOMER, "globex"),
           "bob": token("bob", Role.AGENT), "audrey": token("audrey", Role.AUDITOR)}
RUSSIAN = "Акт сверки «март» №5; итог.pdf"
PDF = b"%PDF-1.7 " + bytes(range(256)) * 40
LOG = "ошибка печати: принтер не отвечает\n".encode("koi8-r")


@dataclass
class Files:
    pdf: ev.Attachment  # ann opened t-acme with it
    log: ev.Attachment  # on bob's public comment
    dump: ev.Attachment  # on bob's internal comment
    secret: ev.Attachment  # globex's, on t-globex
    lost: ev.Attachment  # named by a fact, never stored


@dataclass
class Desk:
    client: httpx.AsyncClient
    position: int
    files: Files

    async def get(self, caller: str, path: str, **params: Any) -> httpx.Response:
        headers = {**CALLERS[caller], "Helpdesk-Min-Position": str(self.position)}
        return await self.client.get(path, params=params, headers=headers)


async def _story(js: Any) -> tuple[Story, Files]:
    lost_bytes = b"never stored"
    files = Files(
        pdf=await attachments.store(js, PDF, filename=RUSSIAN, content_type="application/pdf"),
        log=await attachments.store(js, LOG, filename="printer.log", content_type="text/plain; charset=koi8-r"),
        dump=await attachments.store(js, b"-- pg_dump\n", filename="dump.sql"),
        secret=await attachments.store(js, b"globex only", filename="secret.txt", content_type="text/plain"),
        lost=ev.Attachment(id=hashlib.sha256(lost_bytes).hexdigest(), filename="lost.bin", size=len(lost_bytes)))
    story = Story()
    story.open("t-acme", "acme", T0, ANN, attachments=(files.pdf,), message_id="<1@acme.test>")
    story.fact(ev.Accepted, "t-acme", T0 + dt.timedelta(minutes=5), BOB, Status.IN_PROGRESS, from_status=Status.NEW)
    story.fact(ev.CommentAdded, "t-acme", T0 + dt.timedelta(minutes=10), BOB, Status.IN_PROGRESS, comment_id="pub",
               body="the printer log", attachments=(files.log,))
    story.fact(ev.CommentAdded, "t-acme", T0 + dt.timedelta(minutes=20), BOB, Status.IN_PROGRESS, comment_id="int",
               body="their database", visibility=Visibility.INTERNAL, attachments=(files.dump,))
    story.open("t-globex", "globex", T0, GREG, attachments=(files.secret,))
    story.open("t-lost", "acme", T0, ANN, attachments=(files.lost,))
    return story, files


@pytest.fixture
async def desk(services: Any, js: Any) -> AsyncIterator[Desk]:
    query = start_query(services)
    story, files = await _story(js)
    await publish_story(js, story)
    async with httpx.AsyncClient(base_url=query.url, timeout=10) as client:
        yield Desk(client, story.position, files)


def _url(ticket_id: str, attachment: ev.Attachment) -> str:
    return f"/v1/tickets/{ticket_id}/attachments/{attachment.id}"


def _not_found(response: httpx.Response) -> bool:
    return (response.status_code == 404 and response.headers["content-type"].startswith("application/problem+json")
            and response.json()["code"] == "not_found")


async def test_download_sends_the_stored_bytes_with_type_length_etag_nosniff_and_a_russian_filename(
        desk: Desk) -> None:
    pdf = desk.files.pdf
    response = await desk.get("ann", _url("t-acme", pdf))
    assert response.status_code == 200, response.text
    assert response.content == PDF and pdf.id == hashlib.sha256(PDF).hexdigest()
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-length"] == str(len(PDF))
    assert response.headers["etag"] == f'"{pdf.id}"'
    assert response.headers["x-content-type-options"] == "nosniff"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="') and disposition.isascii()
    encoded = disposition.split("filename*=", 1)[1]
    assert encoded.startswith("UTF-8''") and unquote(encoded.removeprefix("UTF-8''"), errors="strict") == RUSSIAN
    log = await desk.get("ann", _url("t-acme", desk.files.log))
    assert (log.content, log.headers["content-type"]) == (LOG, "text/plain; charset=koi8-r")
    again = await desk.client.get(_url("t-acme", pdf), headers={**CALLERS["ann"], "If-None-Match": f'"{pdf.id}"'})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", f'"{pdf.id}"')


async def test_detail_lists_the_files_each_caller_may_see_with_their_comment_and_url(desk: Desk) -> None:
    files = desk.files
    staff = (await desk.get("bob", "/v1/tickets/t-acme")).json()
    assert [(a["id"], a["comment_id"]) for a in staff["attachments"]] == [
        (files.pdf.id, None), (files.log.id, "pub"), (files.dump.id, "int")]
    assert staff["attachments"][0] == {"id": files.pdf.id, "filename": RUSSIAN, "content_type": "application/pdf",
                                       "size": len(PDF), "comment_id": None, "url": _url("t-acme", files.pdf)}
    assert [(c["id"], [a["id"] for a in c["attachments"]]) for c in staff["comments"]] == [
        ("pub", [files.log.id]), ("int", [files.dump.id])]
    customer = (await desk.get("ann", "/v1/tickets/t-acme")).json()
    assert [a["id"] for a in customer["attachments"]] == [files.pdf.id, files.log.id]
    assert [c["id"] for c in customer["comments"]] == ["pub"]
    for attachment in staff["attachments"]:  # every listed url downloads
        assert (await desk.get("bob", attachment["url"])).status_code == 200


async def test_customer_isolation_internal_files_and_unreferenced_digests_answer_404(desk: Desk) -> None:
    files = desk.files
    assert _not_found(await desk.get("greg", _url("t-acme", files.pdf)))  # another customer's ticket
    assert _not_found(await desk.get("ann", _url("t-globex", files.secret)))
    assert _not_found(await desk.get("ann", _url("t-acme", files.dump)))  # an internal comment's file
    for caller in ("bob", "audrey"):
        assert (await desk.get(caller, _url("t-acme", files.dump))).content == b"-- pg_dump\n"
    for caller in ("ann", "bob"):  # stored, but this ticket does not name it
        assert _not_found(await desk.get(caller, _url("t-acme", files.secret)))
        assert _not_found(await desk.get(caller, f"/v1/tickets/t-acme/attachments/{'0' * 64}"))
        assert _not_found(await desk.get(caller, f"/v1/tickets/nope/attachments/{files.pdf.id}"))
    lost = await desk.get("ann", _url("t-lost", files.lost))  # named by a fact, but not in the store
    assert _not_found(lost) and files.lost.id in lost.json()["detail"]
    assert (await desk.client.get(_url("t-acme", files.pdf))).status_code == 401


async def test_card8_as_of_and_history_show_the_files_as_the_facts_do(desk: Desk) -> None:
    files = desk.files
    before = (await desk.get("bob", "/v1/tickets/t-acme", as_of=(T0 + dt.timedelta(minutes=15)).isoformat())).json()
    assert [(a["id"], a["comment_id"]) for a in before["attachments"]] == [
        (files.pdf.id, None), (files.log.id, "pub")]
    later = (await desk.get("ann", "/v1/tickets/t-acme", as_of=(T0 + dt.timedelta(hours=1)).isoformat())).json()
    assert [a["id"] for a in later["attachments"]] == [files.pdf.id, files.log.id]
    history = (await desk.get("bob", "/v1/tickets/t-acme/history")).json()["items"]
    assert history[0]["data"]["attachments"] == [
        {"id": files.pdf.id, "filename": RUSSIAN, "content_type": "application/pdf", "size": len(PDF)}]
    assert history[0]["data"]["message_id"] == "<1@acme.test>"
    assert [h["data"]["attachments"][0]["id"] for h in history[2:]] == [files.log.id, files.dump.id]
    seen_by_ann = (await desk.get("ann", "/v1/tickets/t-acme/history")).json()["items"]
    assert files.dump.id not in str(seen_by_ann) and len(seen_by_ann) == 3

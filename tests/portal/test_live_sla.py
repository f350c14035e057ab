"""SLA changes reach open pages through query's stream (relayed by the portal's ``/live``), not by polling."""

from __future__ import annotations

import html
import re
import time

import httpx
import pytest

from tests.portal.conftest import PASSWORD, PortalStack, signed_in

pytestmark = [pytest.mark.e2e]


def _token(stack: PortalStack, login: str) -> dict[str, str]:
    answer = httpx.post(f"{stack.intake}/v1/auth/token", json={"login": login, "password": PASSWORD})
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_portal_live_sla_facts_refresh_the_ticket_page_and_queue_which_no_longer_poll(
        portal_stack: PortalStack) -> None:
    customer, agent = _token(portal_stack, portal_stack.customer), _token(portal_stack, portal_stack.agent)
    ticket = httpx.post(f"{portal_stack.intake}/v1/tickets", headers=customer,
                        json={"subject": "Live SLA", "description": "no polling"}).json()
    page = signed_in(portal_stack, portal_stack.agent)
    for path in ("/tickets", f"/tickets/{ticket['id']}"):
        triggers = re.findall(r'hx-trigger="([^"]*)"', page.get(path).text)
        assert "sse:change" in triggers and not [t for t in triggers if "every" in t], (path, triggers)

    with page.stream("GET", "/live", params={"ticket": ticket["id"]}, timeout=httpx.Timeout(10, read=15)) as live:
        accepted = httpx.post(f"{portal_stack.intake}/v1/tickets/{ticket['id']}/actions/accept", headers=agent)
        position = int(accepted.headers["Helpdesk-Position"])
        seen: list[tuple[int, int]] = []  # (position, SLA cursor) of each relayed event after the acceptance
        deadline = time.monotonic() + 10
        for line in live.iter_lines():
            if line.startswith("id: "):
                seen.append(tuple(int(part) for part in line[4:].split(":")))  # type: ignore[arg-type]
            if _acceptance_and_its_fact(seen, position) or time.monotonic() > deadline:
                break
    assert _acceptance_and_its_fact(seen, position), (position, seen)


def _acceptance_and_its_fact(seen: list[tuple[int, int]], position: int) -> bool:
    """The acceptance itself (an id at its position) and the SLA fact it caused (the first response met).

    The fact is projected independently of the ticket event, so it may come first, at the position the
    ticket stood at before (``16:14`` then ``17:14``), or after, at the same position with a later SLA
    cursor (``17:13`` then ``17:14``); either way its id resumes correctly.
    """
    at = [cursor for pos, cursor in seen if pos == position]
    return bool(at) and (any(pos < position for pos, _ in seen) or max(at) > at[0])


def test_portal_live_resumes_from_the_render_a_change_before_the_event_source_connects_reaches_the_page(
        portal_stack: PortalStack) -> None:
    """The page carries where query's stream stood when it was read; its ``/live`` starts there, so a change
    committed between the render and the event source connecting is not lost."""
    customer, agent = _token(portal_stack, portal_stack.customer), _token(portal_stack, portal_stack.agent)
    ticket = httpx.post(f"{portal_stack.intake}/v1/tickets", headers=customer,
                        json={"subject": "Render then connect", "description": "a change in between"})
    ticket_id, page = ticket.json()["id"], signed_in(portal_stack, portal_stack.agent)
    rendered = page.get(f"/tickets/{ticket_id}", params={"after": ticket.headers["Helpdesk-Position"]}).text
    live_url = html.unescape(re.search(r'sse-connect="([^"]*)"', rendered).group(1))  # type: ignore[union-attr]
    since = re.search(r"since=(\d+):(\d+)", live_url)
    assert since is not None, live_url
    with httpx.stream("GET", f"{portal_stack.query}/v1/stream", params={"ticket_id": ticket_id}, headers=agent,
                      timeout=httpx.Timeout(10, read=15)) as watching:  # query's own, joined before the change
        commented = httpx.post(f"{portal_stack.intake}/v1/tickets/{ticket_id}/comments", headers=agent,
                               json={"body": "Between the render and the event source", "visibility": "public"})
        position = int(commented.headers["Helpdesk-Position"])
        seen = _first_at_or_after(watching, position)  # query's stream is past the comment: a late join misses it
        assert seen is not None and seen[0] == position, seen
    with page.stream("GET", live_url, timeout=httpx.Timeout(10, read=5)) as live:
        # the comment itself (a ticket event's id: its position, then the SLA cursor it was sent at, the render's)
        assert _first_at_or_after(live, position) == (position, int(since.group(2))), live_url
    assert page.get("/live", params={"since": "yesterday"}).status_code == 400


def _first_at_or_after(events: httpx.Response, position: int) -> tuple[int, int] | None:
    """The id (position, SLA cursor) of the first event at or after ``position``; None if the stream falls
    silent first."""
    try:
        for line in events.iter_lines():
            if line.startswith("id: ") and int(line[4:].split(":")[0]) >= position:
                first, _, cursor = line[4:].partition(":")
                return int(first), int(cursor or 0)
    except httpx.ReadTimeout:
        return None
    return None

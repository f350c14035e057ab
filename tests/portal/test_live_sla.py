"""SLA changes reach open pages through query's stream (relayed by the portal's ``/live``), not by polling."""

from __future__ import annotations

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

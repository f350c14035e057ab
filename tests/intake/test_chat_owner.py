"""TEL-5's live chat: the first agent who answers a chat in public becomes its owner — an
``AssigneesChanged`` the agent caused — in the aggregate (no I/O) and through intake's HTTP API."""

from __future__ import annotations

import base64
import json
import uuid

import psycopg
import pytest
from litestar.testing import TestClient

from helpdesk_intake.domain.base import Context
from helpdesk_intake.domain.ticket import Ticket
from helpdesk_shared.vocabulary import Role, Status, Visibility

from tests.intake.test_ticket_workflow import AGENT, CUSTOMER, NOW, RULES, ticket_in
from tests.support.desk import PASSWORD, Desk, bearer, provision

OTHER_AGENT = Context("agent-2", Role.AGENT, NOW)
ADMIN = Context("admin-1", Role.ADMIN, NOW)


def _say(ticket: Ticket, ctx: Context, visibility: Visibility = Visibility.PUBLIC) -> list[str]:
    """Add a comment; the names of the events it triggered."""
    ticket.add_comment(ctx, RULES, comment_id=uuid.uuid4().hex, body="hello", visibility=visibility)
    return [type(e).__name__ for e in ticket.collect_events()]


def test_tel5_the_first_agent_who_answers_a_chat_becomes_its_owner() -> None:
    chat = ticket_in(Status.NEW, channel="chat")
    assert _say(chat, CUSTOMER) == ["CommentAdded"]  # the customer's messages take nothing
    assert _say(chat, AGENT, Visibility.INTERNAL) == ["CommentAdded"]  # a note is no answer
    assert _say(chat, AGENT) == ["CommentAdded", "AssigneesChanged"]
    assert chat.owner_id == AGENT.actor_id and chat.status is Status.NEW  # it ends like any ticket
    assert _say(chat, OTHER_AGENT) == ["CommentAdded"]  # the first one keeps it
    assert chat.owner_id == AGENT.actor_id


def test_tel5_the_owner_event_records_the_agent_and_keeps_the_other_assignees() -> None:
    chat = ticket_in(Status.IN_PROGRESS, channel="chat")
    chat.triage(AGENT, RULES, responsible_id="lead-1", department="support")
    chat.collect_events()
    chat.add_comment(OTHER_AGENT, RULES, comment_id="c1", body="on it", visibility=Visibility.PUBLIC)
    taken = chat.collect_events()[-1]
    assert isinstance(taken, Ticket.AssigneesChanged)
    assert (taken.owner_id, taken.responsible_id, taken.department) == ("agent-2", "lead-1", "support")
    assert (taken.actor_id, taken.actor_role, taken.timestamp) == ("agent-2", "agent", NOW)


@pytest.mark.parametrize(("channel", "status", "owner", "actor"), [
    ("email", Status.NEW, None, AGENT),  # only chats are taken by answering
    ("chat", Status.NEW, "agent-9", AGENT),  # an owner named already stays
    ("chat", Status.DONE, None, AGENT),  # a closed chat is nobody's to take
    ("chat", Status.NEW, None, ADMIN),  # an administrator is not the desk's agent
])
def test_tel5_no_owner_is_taken_outside_an_open_unowned_chat(channel: str, status: Status, owner: str | None,
                                                            actor: Context) -> None:
    ticket = ticket_in(status, channel=channel)
    if owner:
        ticket.triage(AGENT, RULES, owner_id=owner)
        ticket.collect_events()
    assert _say(ticket, actor) == ["CommentAdded"]
    assert ticket.owner_id == owner


def token_subject(headers: dict[str, str]) -> str:
    """The user id in a bearer token (its ``sub`` claim; the signature is intake's business)."""
    payload = headers["Authorization"].split()[1].split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]


def test_tel5_api_an_agents_first_public_reply_on_a_chat_makes_them_the_owner(client: TestClient,
                                                                              database_url: str) -> None:
    desk: Desk = provision(client, policy="telemed")
    login = f"agent2-{uuid.uuid4().hex[:6]}"
    made = client.post("/v1/staff", headers=desk.admin, json={"name": "Second", "email": f"{login}@desk.test",
                                                               "login": login, "password": PASSWORD, "role": "agent"})
    assert made.status_code == 201, made.text
    second = bearer(client.post("/v1/auth/token", json={"login": login, "password": PASSWORD}).json()["access_token"])
    chat = desk.open(channel="chat", subject="Chat", description="The app logs me out")

    def say(headers: dict[str, str], body: str) -> dict:
        answer = client.post(f"/v1/tickets/{chat['id']}/comments", json={"body": body}, headers=headers)
        assert answer.status_code == 201, answer.text
        return answer.json()

    say(desk.customer, "Since this morning")
    answered = say(desk.agent, "Which version do you use?")
    say(second, "I can help too")
    assert answered["status"] == "new"  # answering takes the chat; the workflow moves as for any ticket
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT topic, convert_from(state, 'UTF8')::jsonb FROM intake.intake_events"
            " WHERE originator_id = %s ORDER BY originator_version", (chat["id"],)).fetchall()
    assert [topic for topic, _ in rows] == [
        "helpdesk:Ticket.Opened", "helpdesk:Ticket.CommentAdded", "helpdesk:Ticket.CommentAdded",
        "helpdesk:Ticket.AssigneesChanged", "helpdesk:Ticket.CommentAdded"]
    taken = rows[3][1]
    assert taken["owner_id"] == taken["actor_id"] == token_subject(desk.agent) != token_subject(second)
    assert desk.act(chat["id"], "accept").status_code == 200
    assert desk.act(chat["id"], "propose_solution", comment="Update to 5.3").status_code == 200
    done = desk.act(chat["id"], "accept_solution", headers=desk.customer)
    assert done.status_code == 200 and done.json()["status"] == "done"

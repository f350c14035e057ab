"""The live chat's view models (TEL-3, TEL-5): when an answer can be expected, in words and in the policy's
zone, from the reaction target query reports; the thread as messages; the agents' panel rows."""

from __future__ import annotations

import datetime as dt

from helpdesk_portal import i18n
from helpdesk_portal.domain import chat

RU, EN = i18n.translations("ru").gettext, i18n.translations("en").gettext
ZONE = "Europe/Moscow"


def _chat(state: str = "running", due: str = "2026-12-01T05:10:00Z", left: int = 600, **fields: object) -> dict:
    return {"id": "t-1", "number": "HD-7", "subject": "The app logs me out", "status": "new", "channel": "chat",
            "policy": "telemed", "description": "The app logs me out", "requester_id": "u-1",
            "created_at": "2026-11-30T19:30:00Z", "sla": {"targets": [
                {"kind": "first_response", "state": state, "due_at": due, "remaining_seconds": left}]}, **fields}


def test_tel3_outside_working_hours_the_chat_says_when_the_answer_can_be_expected() -> None:
    night = dt.datetime(2026, 11, 30, 19, 31, tzinfo=dt.UTC)  # 22:31 in Moscow: TEL-1's day is over
    assert chat.expectation(_chat(), night, ZONE, "en", EN) == \
        "Support is not working now. You can expect an answer by Tue 1 Dec 08:10 MSK."
    assert chat.expectation(_chat(), night, ZONE, "ru", RU) == \
        "Поддержка сейчас не работает. Ответ можно ожидать до вт 1 дек 08:10 MSK."


def test_tel3_in_working_hours_the_chat_names_the_reaction_deadline_and_none_once_answered() -> None:
    day = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)  # 12:00 in Moscow
    running = _chat(due="2026-12-01T09:10:00Z", left=600)
    assert chat.expectation(running, day, ZONE, "en", EN) == "An agent will answer by Tue 1 Dec 12:10 MSK."
    assert chat.expectation(_chat(state="met"), day, ZONE, "en", EN) == ""
    late = chat.expectation(_chat(state="breached", due="2026-12-01T08:50:00Z", left=-600), day, ZONE, "ru", RU)
    assert late == "Ответ задерживается; поддержка ответит как можно скорее."


def test_tel5_the_chat_thread_starts_with_the_first_message_and_names_who_wrote() -> None:
    ticket = _chat(comments=[
        {"id": "c1", "author_id": "a-1", "author_role": "agent", "body": "Which version?", "visibility": "public",
         "created_at": "2026-12-01T05:01:00Z"},
        {"id": "c2", "author_id": "a-1", "author_role": "agent", "body": "note", "visibility": "internal",
         "created_at": "2026-12-01T05:02:00Z"}])
    seen = chat.messages(ticket, "u-1", False, ZONE, "en", EN)
    assert [(m["who"], m["side"], m["body"]) for m in seen] == [
        ("You", "customer", "The app logs me out"), ("Service desk", "staff", "Which version?")]
    assert [m["who"] for m in chat.messages(ticket, "a-1", True, ZONE, "en", EN)] == ["Customer", "You", "You"]


def test_tel5_the_panel_row_says_whose_chat_it_is_and_the_subject_is_the_first_line() -> None:
    assert chat.panel_row(_chat(), "a-1", {"telemed": ZONE}, "en", EN)["owner"] == "Nobody has answered yet"
    taken = chat.panel_row(_chat(owner_id="a-1"), "a-1", {"telemed": ZONE}, "ru", RU)
    assert (taken["owner"], taken["mine"]) == ("Ваш", True)
    assert chat.subject_of("\n  Login fails\nsince 2.4", "Chat") == "Login fails"
    assert chat.subject_of("", "Chat") == "Chat" and len(chat.subject_of("x" * 500, "Chat")) == chat.SUBJECT_CHARS

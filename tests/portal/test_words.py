"""Times and deadlines in words, in the policy's time zone (no calendar arithmetic: the server's
remaining business time is only put into words)."""

from __future__ import annotations

from helpdesk_portal import i18n
from helpdesk_portal.domain import views, words

RU, EN = i18n.translations("ru").gettext, i18n.translations("en").gettext


def test_portal_times_are_shown_in_the_policys_zone_named() -> None:
    assert words.instant("2026-12-01T07:00:00Z", "Europe/Moscow", "en") == "Tue 1 Dec 10:00 MSK"
    assert words.instant("2026-12-01T07:00:00+00:00", "Europe/Moscow", "ru") == "вт 1 дек 10:00 MSK"


def test_portal_deadlines_in_plain_words() -> None:
    target = {"kind": "resolution", "state": "running", "remaining_seconds": 5 * 3600 + 30 * 60,
              "due_at": "2026-12-01T15:00:00Z"}
    assert words.deadline(target, "Europe/Moscow", "en", EN) == "Resolution: 5 h 30 min left, by Tue 1 Dec 18:00 MSK"
    assert words.deadline(target, "Europe/Moscow", "ru", RU).startswith("Решение: 5 ч 30 мин осталось")
    late = {**target, "state": "breached", "remaining_seconds": -7200}
    assert words.deadline(late, "Europe/Moscow", "en", EN) == "Resolution: overdue by 2 h"


def test_portal_a_customer_row_shows_the_deadline_that_concerns_them() -> None:
    ticket = {"id": "t", "number": "HD-1", "subject": "s", "status": "customer_testing", "policy": "medis",
              "updated_at": "2026-12-01T07:00:00Z", "sla": {"targets": [
                  {"kind": "resolution", "state": "paused", "remaining_seconds": 60},
                  {"kind": "acceptance", "state": "running", "remaining_seconds": 3 * 86400}]}}
    customer = views.row(ticket, False, {"medis": "Europe/Moscow"}, "en", EN)
    agent = views.row(ticket, True, {"medis": "Europe/Moscow"}, "en", EN)
    assert customer["deadline"].startswith("Your acceptance: 72 h left")
    assert agent["deadline"].startswith("Resolution: 1 min left (paused)")


def test_portal_staff_read_the_customers_own_deadline_as_the_customers_and_the_customer_as_theirs() -> None:
    reply = {"kind": "customer_reply", "state": "running", "remaining_seconds": 90 * 3600,
             "due_at": "2026-12-14T17:31:00Z"}
    assert words.deadline(reply, "Europe/Moscow", "en", EN).startswith("Your reply: 90 h left")
    assert words.deadline(reply, "Europe/Moscow", "en", EN, staff=True).startswith("The customer's reply: 90 h left")
    assert words.deadline(reply, "Europe/Moscow", "ru", RU).startswith("Ваш ответ: 90 ч осталось")
    assert words.deadline(reply, "Europe/Moscow", "ru", RU, staff=True).startswith("Ответ клиента: 90 ч осталось")

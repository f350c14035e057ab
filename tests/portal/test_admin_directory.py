"""Issue #13, admins: the directory's forms become the API's bodies with only what changed, and a
customer's history reads in words, newest first (pure view-model code, no I/O)."""

from __future__ import annotations

from helpdesk_portal import i18n
from helpdesk_portal.domain import directory

_ = i18n.translations("ru").gettext
CUSTOMER = {"policy": "medis", "language": "ru",
            "contract": {"monthly_hours": 40.0, "paid_support": True, "active": True}}


def test_admin_a_customer_form_sends_only_what_it_changed() -> None:
    same = {"policy": "medis", "monthly_hours": "40", "paid_support": "on", "active": "on", "language": "ru"}
    assert directory.customer_changes(CUSTOMER, same) == {}
    assert directory.customer_changes(CUSTOMER, {**same, "monthly_hours": "", "language": "en"}) == {
        "contract": {"monthly_hours": None, "paid_support": True, "active": True}, "language": "en"}
    ended = directory.customer_changes(CUSTOMER, {"policy": "imc", "monthly_hours": "40,5", "paid_support": "on"})
    assert ended == {"policy": "imc", "contract": {"monthly_hours": 40.5, "paid_support": True, "active": False}}


def test_admin_a_user_form_sends_only_what_it_changed_and_an_emptied_phone_clears_it() -> None:
    found = {"name": "Ann", "email": "ann@x.test", "phone": "+7 1", "language": "ru"}
    assert directory.user_changes(found, {"name": " Ann ", "email": "ann@x.test", "phone": "+7 1"}) == {}
    assert directory.user_changes(found, {"name": "Anna", "email": "ann@x.test", "phone": ""}) == {
        "name": "Anna", "phone": None}
    staff = directory.new_user({"name": "Bo", "email": "bo@x.test", "login": "bo", "password": " pw with spaces ",
                                "role": "auditor", "department": "", "language": "en"}, staff=True)
    assert staff == {"name": "Bo", "email": "bo@x.test", "login": "bo", "password": " pw with spaces ",
                     "role": "auditor", "language": "en"}


def test_admin_the_customers_history_in_words_newest_first_naming_who_and_whom() -> None:
    items = [
        {"type": "helpdesk.customer.registered", "time": "2026-03-02T07:00:00Z", "actor": {"id": "a1", "role": "admin"},
         "data": {"name": "Acme", "policy": "medis", "paid_support": False}},
        {"type": "helpdesk.user.blocked", "time": "2026-03-02T08:00:00Z", "actor": {"id": "a1", "role": "admin"},
         "data": {"user_id": "u1", "reason": "spam"}},
        {"type": "helpdesk.user.something_new", "time": "2026-03-02T09:00:00Z", "actor": None, "data": {}},
    ]
    entries = directory.history(items, {"a1": "Admin Ann", "u1": "Bob"}, "Europe/Moscow", "ru", _)
    assert [e["what"] for e in entries] == ["Другое изменение", "Пользователь заблокирован", "Клиент зарегистрирован"]
    assert entries[1] == {"time": "пн 2 мар 11:00 MSK", "actor": "Admin Ann", "what": "Пользователь заблокирован",
                          "whom": "Bob", "changed": "Причина: spam"}
    assert entries[2]["changed"] == "Имя: Acme, Политика: medis, Платная поддержка: нет"
    assert entries[0]["actor"] == "Система"


def test_admin_a_confirmation_only_for_the_changes_the_portal_knows() -> None:
    assert directory.done_message("user_blocked", _)[0]["text"].startswith("Пользователь заблокирован")
    assert directory.done_message("<script>", _) == [] and directory.done_message(None, _) == []

"""The directory's rules on the User and Customer aggregates (MED-4, IMC-2): no I/O, no clock."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from helpdesk_intake.domain.base import Context, InvalidInput, NotPermitted
from helpdesk_intake.domain.customer import Customer
from helpdesk_intake.domain.user import User, UserBlocked, UserDeactivated
from helpdesk_shared.vocabulary import Role

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
ADMIN = Context("admin", Role.ADMIN, NOW)
AGENT = Context("agent-1", Role.AGENT, NOW)


def _user() -> User:
    user = User.register(ADMIN, id=uuid.uuid4(), role=Role.CUSTOMER, name="Ann", email="ann@acme.test",
                         login="ann", customer_id="cust-1")
    user.collect_events()
    return user


def _as(user: User) -> Context:
    return Context(str(user.id), Role.CUSTOMER, NOW, customer_id="cust-1")


def _names(user: User) -> list[str]:
    return [type(e).__name__ for e in user.collect_events()]


def test_med4_an_admin_blocks_a_single_user_who_may_then_not_sign_in() -> None:
    user = _user()
    user.block(ADMIN, reason="shares their password")
    assert _names(user) == ["Blocked"] and user.blocked and user.sessions == 1
    with pytest.raises(UserBlocked):
        user.may_sign_in()
    user.block(ADMIN)  # already blocked: no second fact
    assert _names(user) == []


def test_med4_unblocking_lets_the_user_sign_in_but_keeps_old_sessions_ended() -> None:
    user = _user()
    user.block(ADMIN)
    user.unblock(ADMIN)
    assert _names(user) == ["Blocked", "Unblocked"]
    user.may_sign_in()
    assert user.sessions == 1  # tokens issued before the block stay revoked


def test_med4_only_an_admin_blocks() -> None:
    user = _user()
    for ctx in (AGENT, _as(user)):
        with pytest.raises(NotPermitted):
            user.block(ctx)
    assert _names(user) == []


def test_imc2_a_user_the_customer_no_longer_names_is_deactivated_and_may_come_back() -> None:
    user = _user()
    user.set_active(ADMIN, False)
    with pytest.raises(UserDeactivated):
        user.may_sign_in()
    user.set_active(ADMIN, False)  # no change, no fact
    user.set_active(ADMIN, True)
    assert _names(user) == ["Deactivated", "Reactivated"] and user.active and user.sessions == 1


def test_a_password_change_is_the_users_own_and_ends_their_sessions() -> None:
    user = _user()
    with pytest.raises(NotPermitted):
        user.change_password(AGENT)
    user.change_password(_as(user))
    user.reset_password(ADMIN)
    assert _names(user) == ["PasswordChanged", "PasswordReset"] and user.sessions == 2


def test_language_is_ru_or_en_chosen_by_the_user_or_an_admin() -> None:
    user = _user()
    user.choose_language(_as(user), "en")
    user.choose_language(ADMIN, "en")  # unchanged: nothing recorded
    assert _names(user) == ["LanguageChosen"] and user.language == "en"
    with pytest.raises(InvalidInput) as refused:
        user.choose_language(ADMIN, "de")
    assert refused.value.field == "language"
    with pytest.raises(NotPermitted):
        user.choose_language(AGENT, "ru")


def test_contacts_are_corrected_by_an_admin_and_blank_ones_refused() -> None:
    user = _user()
    user.change_contact(ADMIN, email="ann@acme.example", phone="+7 900 000-00-00")
    assert _names(user) == ["ContactChanged"] and (user.email, user.phone) == ("ann@acme.example", "+7 900 000-00-00")
    user.change_contact(ADMIN, clear_phone=True)
    assert user.phone is None
    with pytest.raises(InvalidInput):
        user.change_contact(ADMIN, name="  ")


def test_a_customers_default_language() -> None:
    customer = Customer.register(ADMIN, id=uuid.uuid4(), name="Acme", email="it@acme.test", client_code=None,
                                 policy="keysystems", contract={})
    customer.collect_events()
    customer.choose_language(ADMIN, "en")
    assert [type(e).__name__ for e in customer.collect_events()] == ["LanguageChosen"]
    with pytest.raises(InvalidInput):
        customer.choose_language(ADMIN, "fr")
    with pytest.raises(NotPermitted):
        customer.choose_language(AGENT, "ru")

"""TelemedHelp preset (TEL rules)."""

import datetime as dt

from helpdesk_shared import events as ev
from helpdesk_shared.policies import calendar_of, channel_registers, evaluate
from helpdesk_shared.vocabulary import Channel, Status

from tests.shared.histories import POLICIES, Ticket, msk, target

TELEMED = POLICIES["telemed"]


def test_tel1_support_works_daily_0800_to_2000_moscow_time():
    calendar = calendar_of(TELEMED)
    for day in (dt.date(2025, 11, 8), dt.date(2025, 11, 9), dt.date(2026, 1, 1)):  # Sat, Sun, holiday
        assert calendar.day_hours(day) == ((480, 1200),)
    assert not calendar.is_working_time(msk(2025, 11, 10, 20))
    assert calendar.is_working_time(msk(2025, 11, 10, 8))
    assert calendar.between(msk(2025, 11, 10, 19), msk(2025, 11, 11, 9)) == 2 * 3600


def test_tel3_chat_reaction_is_ten_working_minutes():
    ticket = Ticket(msk(2025, 11, 8, 19, 55), channel=Channel.CHAT)  # a Saturday evening
    reaction = target(evaluate(ticket.events, TELEMED, msk(2025, 11, 8, 19, 56)), "first_response")
    assert reaction.due_at == msk(2025, 11, 9, 8, 5)
    ticket.comment(msk(2025, 11, 9, 8, 4))
    assert target(evaluate(ticket.events, TELEMED, msk(2025, 11, 9, 9)), "first_response").state == "met"


def test_tel3_email_reaction_is_five_working_minutes():
    ticket = Ticket(msk(2025, 11, 10, 10), channel=Channel.EMAIL)
    late = target(evaluate(ticket.events, TELEMED, msk(2025, 11, 10, 10, 6)), "first_response")
    assert (late.due_at, late.state) == (msk(2025, 11, 10, 10, 5), "breached")


def test_tel4_a_request_in_development_gets_a_reaction_within_three_business_days():
    ticket = (Ticket(msk(2025, 11, 10, 10), channel=Channel.EMAIL)
              .move(ev.Accepted, Status.IN_PROGRESS, msk(2025, 11, 10, 10, 2))
              .move(ev.SentToDevelopment, Status.IN_DEVELOPMENT, msk(2025, 11, 10, 12)))
    reaction = target(evaluate(ticket.events, TELEMED, msk(2025, 11, 11)), "first_response")
    assert (reaction.state, reaction.due_at) == ("running", msk(2025, 11, 13, 12))
    ticket.comment(msk(2025, 11, 12, 9))
    assert target(evaluate(ticket.events, TELEMED, msk(2025, 11, 14)), "first_response").state == "met"


def test_tel5_only_chat_and_email_are_registered_requests():
    assert channel_registers(TELEMED, Channel.CHAT) and channel_registers(TELEMED, Channel.EMAIL)
    assert not any(channel_registers(TELEMED, c) for c in (Channel.PHONE, Channel.PORTAL, Channel.API))

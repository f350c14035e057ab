"""TelemedHelp preset (TEL rules)."""

from helpdesk_shared import events as ev
from helpdesk_shared.vocabulary import Channel, Status

from helpdesk_sla.domain.evaluation import evaluate
from tests.shared.histories import CUSTOMER, POLICIES, Ticket, msk, target

TELEMED = POLICIES["telemed"]


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


def test_tel4_a_request_in_development_gets_a_development_reaction_beside_the_first_response():
    ticket = (Ticket(msk(2025, 11, 10, 10), channel=Channel.EMAIL)
              .move(ev.Accepted, Status.IN_PROGRESS, msk(2025, 11, 10, 10, 2))
              .move(ev.SentToDevelopment, Status.IN_DEVELOPMENT, msk(2025, 11, 10, 12)))
    state = evaluate(ticket.events, TELEMED, msk(2025, 11, 11))
    reaction = target(state, "development_reaction")
    assert (reaction.state, reaction.due_at) == ("running", msk(2025, 11, 13, 12))
    first = target(state, "first_response")  # the first response stays on record, met at 10:02
    assert (first.state, first.stopped_at) == ("met", msk(2025, 11, 10, 10, 2))
    ticket.comment(msk(2025, 11, 12, 9))
    assert target(evaluate(ticket.events, TELEMED, msk(2025, 11, 14)), "development_reaction").state == "met"


def test_tel3_information_the_customer_adds_gets_a_follow_up_reaction_of_the_channels_maximum():
    ticket = Ticket(msk(2025, 11, 10, 10), channel=Channel.CHAT).comment(msk(2025, 11, 10, 10, 3))
    ticket.comment(msk(2025, 11, 10, 11), actor=CUSTOMER)
    follow_up = target(evaluate(ticket.events, TELEMED, msk(2025, 11, 10, 11, 1)), "follow_up")
    assert (follow_up.state, follow_up.due_at) == ("running", msk(2025, 11, 10, 11, 10))
    ticket.comment(msk(2025, 11, 10, 11, 5), actor=CUSTOMER)  # more before an answer: the first counts
    assert target(evaluate(ticket.events, TELEMED, msk(2025, 11, 10, 11, 6)), "follow_up").due_at == \
        msk(2025, 11, 10, 11, 10)
    ticket.comment(msk(2025, 11, 10, 11, 8))
    answered = target(evaluate(ticket.events, TELEMED, msk(2025, 11, 10, 12)), "follow_up")
    assert (answered.state, answered.stopped_at) == ("met", msk(2025, 11, 10, 11, 8))
    assert target(evaluate(ticket.events, TELEMED, msk(2025, 11, 10, 12)), "first_response").state == "met"


def test_tel3_a_chats_reaction_runs_from_its_first_message_and_later_ones_do_not_move_it():
    first_message = msk(2025, 11, 10, 12, 0, 30)  # the chat is opened by its first message (TEL-5)
    chat = Ticket(first_message, channel=Channel.CHAT).comment(msk(2025, 11, 10, 12, 4), actor=CUSTOMER)
    reaction = target(evaluate(chat.events, TELEMED, msk(2025, 11, 10, 12, 5)), "first_response")
    assert (reaction.started_at, reaction.due_at) == (first_message, msk(2025, 11, 10, 12, 10, 30))
    assert reaction.state == "running" and reaction.remaining_seconds == 330


def test_tel3_a_chat_opened_after_hours_is_due_ten_working_minutes_into_the_next_day():
    chat = Ticket(msk(2025, 11, 10, 22, 30), channel=Channel.CHAT)  # TEL-1: support is back at 08:00
    reaction = target(evaluate(chat.events, TELEMED, msk(2025, 11, 10, 22, 31)), "first_response")
    assert (reaction.started_at, reaction.due_at) == (msk(2025, 11, 10, 22, 30), msk(2025, 11, 11, 8, 10))
    assert reaction.remaining_seconds == 600  # working time left: what the chat's "expect an answer" tells

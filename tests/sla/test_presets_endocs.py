"""Endocs preset (END rules): as the SLA evaluation applies it."""

from helpdesk_shared import events as ev
from helpdesk_shared.vocabulary import Status

from helpdesk_sla.domain.evaluation import evaluate
from tests.shared.histories import POLICIES, Ticket, msk, target

ENDOCS = POLICIES["endocs"]


def awaiting() -> Ticket:
    return (Ticket(msk(2025, 11, 12, 11)).move(ev.Accepted, Status.IN_PROGRESS, msk(2025, 11, 12, 12))
            .move(ev.ClarificationRequested, Status.AWAITING_CUSTOMER, msk(2025, 11, 12, 15)))


def test_end4_no_answer_within_five_standard_business_days_closes_with_the_wording():
    rule = ENDOCS.transitions[0]
    assert (rule.action, rule.reason, rule.automatic) == ("reject", "ответ от клиента не получен", True)
    waiting = target(evaluate(awaiting().events, ENDOCS, msk(2025, 11, 19, 15, 1)), "customer_reply")
    assert (waiting.due_at, waiting.state) == (msk(2025, 11, 19, 15), "breached")
    # "may close": the preset closes automatically (CONTRACT §5)
    move = evaluate(awaiting().events, ENDOCS, msk(2025, 11, 13)).next_transition
    assert (move.action, move.reason, move.due_at) == ("reject", "ответ от клиента не получен", msk(2025, 11, 19, 15))


def test_end4_the_initiator_is_reminded_weekly_while_waiting():
    events = awaiting().events
    assert evaluate(events, ENDOCS, msk(2025, 11, 12, 16)).next_reminder == msk(2025, 11, 19, 15)
    assert evaluate(events, ENDOCS, msk(2025, 11, 19, 15)).next_reminder == msk(2025, 11, 26, 15)

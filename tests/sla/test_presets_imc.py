"""IMC preset (IMC rules)."""

from helpdesk_shared import events as ev
from helpdesk_shared.policies import Release
from helpdesk_shared.vocabulary import Category, Channel, Priority, Status

from helpdesk_sla.domain.evaluation import evaluate
from tests.shared.histories import CUSTOMER, POLICIES, Ticket, msk, target

IMC = POLICIES["imc"]


def analysed(category: Category, priority: Priority) -> Ticket:
    """Registered Monday 10 Nov 09:30, primary analysis done at 10:00."""
    return (Ticket(msk(2025, 11, 10, 9, 30)).triage(msk(2025, 11, 10, 9, 50), category, priority)
            .move(ev.Accepted, Status.IN_PROGRESS, msk(2025, 11, 10, 10)))


def test_imc4_hotline_calls_back_within_three_business_days_besides_the_primary_analysis():
    ticket = Ticket(msk(2025, 11, 10, 12), channel=Channel.PHONE)
    state = evaluate(ticket.events, IMC, msk(2025, 11, 10, 13))
    assert target(state, "callback").due_at == msk(2025, 11, 13, 12)
    assert target(state, "first_response").due_at == msk(2025, 11, 11, 12)  # IMC-5: 1 bd
    ticket.move(ev.Accepted, Status.IN_PROGRESS, msk(2025, 11, 10, 14))
    assert target(evaluate(ticket.events, IMC, msk(2025, 11, 10, 15)), "callback").state == "running"
    ticket.comment(msk(2025, 11, 11, 10), call=True)  # the agent logs the call
    called = target(evaluate(ticket.events, IMC, msk(2025, 11, 14)), "callback")
    assert (called.state, called.stopped_at) == ("met", msk(2025, 11, 11, 10))


def test_imc4_a_portal_request_has_no_callback():
    state = evaluate(Ticket(msk(2025, 11, 10, 12)).events, IMC, msk(2025, 11, 10, 13))
    assert [t.kind for t in state.targets] == ["first_response"]


def test_imc8_a_ticket_without_category_is_untriaged_until_triage_names_its_resolution_target():
    ticket = Ticket(msk(2025, 11, 10, 9, 30))
    assert evaluate(ticket.events, IMC, msk(2025, 11, 10, 9, 40)).untriaged
    ticket.triage(msk(2025, 11, 10, 9, 50), Category.SUPPORT, Priority.NORMAL)
    assert not evaluate(ticket.events, IMC, msk(2025, 11, 10, 9, 55)).untriaged
    ticket.move(ev.Rejected, Status.REJECTED, msk(2025, 11, 10, 10), reason="dup")
    assert not evaluate(ticket.events, IMC, msk(2025, 11, 10, 11)).untriaged


def test_imc5_primary_analysis_within_one_business_day_of_registration():
    ticket = Ticket(msk(2025, 11, 7, 17))  # Friday 17:00 → Monday 17:00
    analysis = target(evaluate(ticket.events, IMC, msk(2025, 11, 10, 9)), "first_response")
    assert (analysis.due_at, analysis.state, analysis.remaining_seconds) == (msk(2025, 11, 10, 17), "running", 8 * 3600)
    ticket.move(ev.ClarificationRequested, Status.AWAITING_CUSTOMER, msk(2025, 11, 10, 16))
    assert target(evaluate(ticket.events, IMC, msk(2025, 11, 11)), "first_response").state == "met"


def test_imc6_without_a_comment_within_three_business_days_the_request_closes_unprocessed():
    ticket = Ticket(msk(2025, 11, 10, 11)).move(ev.ClarificationRequested, Status.AWAITING_CUSTOMER,
                                                 msk(2025, 11, 10, 12))
    waiting = target(evaluate(ticket.events, IMC, msk(2025, 11, 13, 12, 1)), "customer_reply")
    assert (waiting.due_at, waiting.state) == (msk(2025, 11, 13, 12), "breached")
    # "may close": the preset closes automatically (CONTRACT §5), in the regulation's words
    move = evaluate(ticket.events, IMC, msk(2025, 11, 10, 13)).next_transition
    assert (move.action, move.due_at) == ("reject", msk(2025, 11, 13, 12))
    assert move.reason.startswith("обращение закрыто без дальнейшей обработки")


def test_imc7_awaiting_clarification_stops_the_executors_clock():
    ticket = analysed(Category.SUPPORT, Priority.NORMAL).move(
        ev.ClarificationRequested, Status.AWAITING_CUSTOMER, msk(2025, 11, 10, 12))
    state = evaluate(ticket.events, IMC, msk(2025, 11, 20))
    assert state.paused and target(state, "resolution").state == "paused"


def test_imc8_error_urgent_solution_acceptance_and_remarks_one_business_day_each():
    ticket = analysed(Category.ERROR, Priority.URGENT)
    assert target(evaluate(ticket.events, IMC, msk(2025, 11, 10, 11)), "resolution").due_at == msk(2025, 11, 11, 10)
    ticket.move(ev.SolutionProposed, Status.CUSTOMER_TESTING, msk(2025, 11, 11, 9, 30))
    state = evaluate(ticket.events, IMC, msk(2025, 11, 11, 10))
    assert target(state, "resolution").state == "met"
    assert target(state, "acceptance").due_at == msk(2025, 11, 12, 9, 30)
    ticket.move(ev.ReturnedToWork, Status.IN_PROGRESS, msk(2025, 11, 12, 11), CUSTOMER)
    fix = target(evaluate(ticket.events, IMC, msk(2025, 11, 12, 12)), "remark_fix")
    assert (fix.due_at, fix.state) == (msk(2025, 11, 13, 11), "running")


def test_imc8_error_urgent_is_at_risk_exactly_four_working_hours_before_the_deadline():
    events = analysed(Category.ERROR, Priority.URGENT).events  # due Tuesday 10:00
    before = target(evaluate(events, IMC, msk(2025, 11, 10, 14, 59, 59)), "resolution")
    at = target(evaluate(events, IMC, msk(2025, 11, 10, 15)), "resolution")
    assert at.warn_at == msk(2025, 11, 10, 15)  # 1 h on Tuesday + 3 h of Monday
    assert (before.state, at.state, at.remaining_seconds) == ("running", "at_risk", 4 * 3600)


def test_imc8_support_urgent_three_business_days_warning_one_day_before():
    resolution = target(evaluate(analysed(Category.SUPPORT, Priority.URGENT).events, IMC, msk(2025, 11, 12, 10)),
                        "resolution")
    assert (resolution.due_at, resolution.warn_at, resolution.state) == (
        msk(2025, 11, 13, 10), msk(2025, 11, 12, 10), "at_risk")


def test_imc8_support_normal_five_business_days_for_solution_acceptance_and_remarks():
    ticket = analysed(Category.SUPPORT, Priority.NORMAL)
    assert target(evaluate(ticket.events, IMC, msk(2025, 11, 10, 11)), "resolution").due_at == msk(2025, 11, 17, 10)
    ticket.move(ev.SolutionProposed, Status.CUSTOMER_TESTING, msk(2025, 11, 11, 12))
    assert target(evaluate(ticket.events, IMC, msk(2025, 11, 11, 13)), "acceptance").due_at == msk(2025, 11, 18, 12)
    ticket.move(ev.ReturnedToWork, Status.IN_PROGRESS, msk(2025, 11, 12, 12), CUSTOMER)
    assert target(evaluate(ticket.events, IMC, msk(2025, 11, 12, 13)), "remark_fix").due_at == msk(2025, 11, 19, 12)


def test_imc8_error_high_normal_low_are_bound_to_releases():
    expected = {Priority.HIGH: Release.NEXT_UNSCHEDULED, Priority.NORMAL: Release.NEXT_SCHEDULED,
                Priority.LOW: Release.LATER_SCHEDULED}
    for priority, release in expected.items():
        resolution = target(evaluate(analysed(Category.ERROR, priority).events, IMC, msk(2026, 3, 1)), "resolution")
        assert (resolution.release, resolution.due_at, resolution.state) == (release, None, "unplanned")


def test_imc8_improvement_release_bound_with_five_day_acceptance():
    ticket = analysed(Category.IMPROVEMENT, Priority.LOW).move(
        ev.SolutionProposed, Status.CUSTOMER_TESTING, msk(2025, 11, 11, 12))
    state = evaluate(ticket.events, IMC, msk(2025, 11, 11, 13))
    assert target(state, "resolution").release is Release.LATER_SCHEDULED
    assert target(state, "acceptance").due_at == msk(2025, 11, 18, 12)
    ticket.move(ev.ReturnedToWork, Status.IN_PROGRESS, msk(2025, 11, 12, 12), CUSTOMER)
    fix = target(evaluate(ticket.events, IMC, msk(2025, 11, 12, 13)), "remark_fix")
    assert (fix.release, fix.due_at) == (Release.NEXT_UNSCHEDULED, None)


def test_imc9_a_release_bound_target_without_a_release_is_unplanned_and_carries_no_timer():
    state = evaluate(analysed(Category.ERROR, Priority.NORMAL).events, IMC, msk(2030, 1, 1))
    resolution = target(state, "resolution")
    assert (resolution.remaining_seconds, resolution.release_id, resolution.state) == (None, None, "unplanned")

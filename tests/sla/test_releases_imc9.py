"""IMC-9 release-bound targets: bound to a release, due at its date in the policy's calendar."""

import datetime as dt

from helpdesk_shared import events as ev
from helpdesk_shared.policies.releases import ReleaseDate
from helpdesk_shared.vocabulary import Category, Priority, Status

from helpdesk_sla.domain.evaluation import evaluate
from helpdesk_sla.domain.planning import BreachTimer, plan
from tests.shared.histories import AGENT, CUSTOMER, POLICIES, Ticket, msk, target

IMC = POLICIES["imc"]
# Analysis ends Monday 10 Nov 2025; releases on the Wednesday, the Friday, the Saturday after.
SCHEDULED_WED = ReleaseDate("r-wed", "scheduled", dt.date(2025, 11, 12))
SCHEDULED_FRI = ReleaseDate("r-fri", "scheduled", dt.date(2025, 11, 14))
UNSCHEDULED_SAT = ReleaseDate("r-sat", "unscheduled", dt.date(2025, 11, 15))
RELEASES = (SCHEDULED_FRI, UNSCHEDULED_SAT, SCHEDULED_WED)


def analysed(priority: Priority, category: Category = Category.ERROR) -> Ticket:
    return (Ticket(msk(2025, 11, 10, 9, 30)).triage(msk(2025, 11, 10, 9, 50), category, priority)
            .move(ev.Accepted, Status.IN_PROGRESS, msk(2025, 11, 10, 10)))


def promise(ticket: Ticket, release_id: str | None, at: dt.datetime) -> Ticket:
    ticket.events.append(ev.PlanChanged(**ticket._common(at, AGENT), release=release_id))
    return ticket


def resolution(ticket: Ticket, now: dt.datetime, releases=RELEASES):
    return target(evaluate(ticket.events, IMC, now, releases), "resolution")


def test_imc9_next_scheduled_binds_to_the_first_scheduled_release_after_triage_due_at_close_of_business():
    found = resolution(analysed(Priority.NORMAL), msk(2025, 11, 11, 9))
    assert (found.release_id, found.due_at, found.state) == ("r-wed", msk(2025, 11, 12, 18), "running")
    assert found.remaining_seconds == 9 * 3600 + 9 * 3600  # the rest of Tuesday and all of Wednesday


def test_imc9_later_scheduled_binds_to_the_second_scheduled_release():
    found = resolution(analysed(Priority.LOW), msk(2025, 11, 11, 9))
    assert (found.release_id, found.due_at) == ("r-fri", msk(2025, 11, 14, 18))


def test_imc9_a_release_on_a_day_off_is_due_at_the_close_of_the_last_working_day_before_it():
    found = resolution(analysed(Priority.HIGH), msk(2025, 11, 11, 9))
    assert (found.release_id, found.due_at) == ("r-sat", msk(2025, 11, 14, 18))


def test_imc9_a_release_dated_on_the_day_of_triage_is_not_next():
    same_day = ReleaseDate("r-mon", "scheduled", dt.date(2025, 11, 10))
    assert resolution(analysed(Priority.NORMAL), msk(2025, 11, 10, 11), (same_day, SCHEDULED_FRI)).release_id == "r-fri"


def test_imc9_without_a_release_of_its_kind_the_target_is_unplanned():
    found = resolution(analysed(Priority.HIGH), msk(2025, 11, 11, 9), (SCHEDULED_WED,))
    assert (found.release_id, found.due_at, found.state) == (None, None, "unplanned")


def test_imc9_a_promised_release_wins_over_the_rules_choice():
    ticket = promise(analysed(Priority.NORMAL), "r-fri", msk(2025, 11, 10, 11))
    assert resolution(ticket, msk(2025, 11, 11, 9)).release_id == "r-fri"
    assert resolution(promise(ticket, None, msk(2025, 11, 10, 12)), msk(2025, 11, 11, 9)).release_id == "r-wed"


def test_imc9_warning_at_the_policys_lead_and_breached_when_the_release_passes_unresolved():
    ticket = analysed(Priority.NORMAL, Category.IMPROVEMENT)  # later_scheduled, warning 1 bd
    assert resolution(ticket, msk(2025, 11, 13, 17, 59)).state == "running"
    at_risk = resolution(ticket, msk(2025, 11, 13, 18))
    assert (at_risk.warn_at, at_risk.state) == (msk(2025, 11, 13, 18), "at_risk")
    assert resolution(ticket, msk(2025, 11, 14, 18, 0, 1)).state == "breached"
    ticket.move(ev.SolutionProposed, Status.CUSTOMER_TESTING, msk(2025, 11, 14, 17))
    assert resolution(ticket, msk(2025, 11, 20)).state == "met"


def test_imc9_redating_the_release_moves_the_deadline():
    redated = (ReleaseDate("r-wed", "scheduled", dt.date(2025, 11, 19)), SCHEDULED_FRI)
    found = resolution(analysed(Priority.NORMAL), msk(2025, 11, 11, 9), redated)
    assert (found.release_id, found.due_at) == ("r-fri", msk(2025, 11, 14, 18))


def test_imc9_remarks_bind_to_the_next_unscheduled_release_after_the_return():
    ticket = (analysed(Priority.LOW, Category.IMPROVEMENT)
              .move(ev.SolutionProposed, Status.CUSTOMER_TESTING, msk(2025, 11, 11, 12))
              .move(ev.ReturnedToWork, Status.IN_PROGRESS, msk(2025, 11, 12, 12), CUSTOMER))
    fix = target(evaluate(ticket.events, IMC, msk(2025, 11, 12, 13), RELEASES), "remark_fix")
    assert (fix.release_id, fix.due_at, fix.state) == ("r-sat", msk(2025, 11, 14, 18), "running")


def test_imc9_a_release_bound_target_runs_on_while_the_ticket_waits_for_the_customer():
    """A release's date does not move with pauses: waiting on the customer neither freezes the
    target nor drops its timers, and it is breached when the release passes unresolved."""
    waiting = analysed(Priority.NORMAL).move(ev.ClarificationRequested, Status.AWAITING_CUSTOMER,
                                             msk(2025, 11, 11, 9))
    state = evaluate(waiting.events, IMC, msk(2025, 11, 11, 12), RELEASES)
    found = target(state, "resolution")
    assert state.paused and (found.release_id, found.state) == ("r-wed", "running")
    assert BreachTimer(target="resolution", due_at=found.due_at, planned_version=1) in plan(state, 1)
    assert resolution(waiting, msk(2025, 11, 13, 9)).state == "breached"

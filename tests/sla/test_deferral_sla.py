"""TEL-9 and END-5 in the SLA evaluation: a deferred ticket's clocks stop; a third party stops
them only where the policy says so (pure: history → state, no I/O)."""

import msgspec

from helpdesk_shared import events as ev
from helpdesk_shared.vocabulary import Category, Priority, Status

from helpdesk_sla.domain.evaluation import evaluate
from tests.shared.histories import AGENT, POLICIES, Ticket, msk, target

IMC = POLICIES["imc"]  # urgent errors: resolution in 1 bd, Mon-Fri 09:00-18:00 Moscow
IMC_THIRD_PARTY_PAUSES = msgspec.structs.replace(IMC, third_party_pauses=True)


def _accepted() -> Ticket:
    return (Ticket(msk(2026, 2, 2, 9, 30), category=Category.ERROR, priority=Priority.URGENT)
            .move(ev.Accepted, Status.IN_PROGRESS, msk(2026, 2, 2, 10)))  # resolution due Tue 10:00


def _third_party(ticket: Ticket, fact: type, at, **fields) -> Ticket:
    ticket.events.append(fact(**ticket._common(at, AGENT), **fields))
    return ticket


def test_tel9_deferred_ticket_clocks_stand_still_and_resume_with_the_paused_time_added():
    ticket = _accepted().move(ev.Deferred, Status.DEFERRED, msk(2026, 2, 2, 12), reason="cannot_reproduce")
    while_deferred = evaluate(ticket.events, IMC, msk(2026, 2, 3, 12))  # past the original due time
    resolution = target(while_deferred, "resolution")
    assert while_deferred.paused and resolution.state == "paused"
    ticket.move(ev.Resumed, Status.IN_PROGRESS, msk(2026, 2, 4, 12))  # 18 working hours later
    resumed = evaluate(ticket.events, IMC, msk(2026, 2, 4, 12))
    resolution = target(resumed, "resolution")
    assert not resumed.paused and resolution.state == "running"
    assert resolution.due_at == msk(2026, 2, 5, 10)  # Tue 10:00 + 18 wh


def test_end5_third_party_stops_the_clocks_only_where_the_policy_says_so():
    ticket = _third_party(_accepted(), ev.ThirdPartyAwaited, msk(2026, 2, 2, 12), party="Bank", note=None)
    waiting = evaluate(ticket.events, IMC_THIRD_PARTY_PAUSES, msk(2026, 2, 3, 12))
    assert waiting.paused and target(waiting, "resolution").state == "paused"
    assert not evaluate(ticket.events, IMC, msk(2026, 2, 3, 12)).paused
    _third_party(ticket, ev.ThirdPartyCleared, msk(2026, 2, 4, 12), party="Bank")
    paused_policy = target(evaluate(ticket.events, IMC_THIRD_PARTY_PAUSES, msk(2026, 2, 4, 12)), "resolution")
    plain_policy = target(evaluate(ticket.events, IMC, msk(2026, 2, 4, 12)), "resolution")
    assert (paused_policy.due_at, paused_policy.state) == (msk(2026, 2, 5, 10), "running")
    assert (plain_policy.due_at, plain_policy.state) == (msk(2026, 2, 3, 10), "breached")


def test_end5_a_third_party_over_a_pausing_status_keeps_the_pause_until_both_end():
    ticket = _third_party(_accepted(), ev.ThirdPartyAwaited, msk(2026, 2, 2, 12), party="Bank", note=None)
    ticket.move(ev.Deferred, Status.DEFERRED, msk(2026, 2, 2, 14), reason="needs_development")
    ticket.move(ev.Resumed, Status.IN_PROGRESS, msk(2026, 2, 3, 12))
    still = evaluate(ticket.events, IMC_THIRD_PARTY_PAUSES, msk(2026, 2, 3, 13))
    assert still.paused  # the third party still holds the clocks
    _third_party(ticket, ev.ThirdPartyCleared, msk(2026, 2, 4, 12), party="Bank")
    assert target(evaluate(ticket.events, IMC_THIRD_PARTY_PAUSES, msk(2026, 2, 4, 12)),
                  "resolution").due_at == msk(2026, 2, 5, 10)


def test_end5_endocs_preset_chooses_that_a_third_party_stops_the_clocks():
    assert POLICIES["endocs"].third_party_pauses
    assert [r.code for r in POLICIES["telemed"].deferral_reasons] == [
        "cannot_reproduce", "not_enough_information", "needs_development", "requirements_broken",
        "out_of_scope", "unconstructive", "abusive"]


def test_end5_closing_ends_the_third_party_pause_so_a_reopened_ticket_runs_again():
    ticket = _third_party(_accepted(), ev.ThirdPartyAwaited, msk(2026, 2, 2, 12), party="Bank", note=None)
    ticket.move(ev.SolutionProposed, Status.CUSTOMER_TESTING, msk(2026, 2, 2, 14))
    ticket.move(ev.SolutionAccepted, Status.DONE, msk(2026, 2, 2, 15))
    ticket.move(ev.Reopened, Status.IN_PROGRESS, msk(2026, 2, 3, 10))
    assert not evaluate(ticket.events, IMC_THIRD_PARTY_PAUSES, msk(2026, 2, 3, 11)).paused  # as intake's ticket

"""The SLA service's planning as a pure function: given a ticket's events and an instant →
the facts to announce and the timers to keep; given a timer → its fact and command. No I/O."""

from __future__ import annotations

import datetime as dt

import msgspec

from helpdesk_shared import events as ev
from helpdesk_shared import sla_events as sla
from helpdesk_shared.policies.releases import ReleaseDate
from helpdesk_shared.vocabulary import Category, Priority, Status
from helpdesk_sla.domain.evaluation import evaluate
from helpdesk_sla.domain.planning import (
    Announced,
    ReminderTimer,
    TicketRef,
    Timer,
    TransitionTimer,
    fire,
    idempotency_key,
    observe,
    plan,
)
from tests.shared.histories import CUSTOMER, POLICIES, SLA, Ticket, msk

IMC, MEDIS, KEYSYSTEMS = POLICIES["imc"], POLICIES["medis"], POLICIES["keysystems"]


def _urgent_error(at: dt.datetime) -> Ticket:
    return Ticket(at, category=Category.ERROR, priority=Priority.URGENT)


def _ref(ticket: Ticket, policy: str) -> TicketRef:
    return TicketRef(ticket_id="t-1", customer_id="c-1", policy=policy, version=len(ticket.events))


def _name(timer: Timer) -> str:
    """A timer as these tests name it: its variant's tag, and its target if it has one (``breach:resolution``)."""
    tag = type(timer).__struct_config__.tag
    target = getattr(timer, "target", None)
    return f"{tag}:{target}" if target else str(tag)


def _timers(timers: list[Timer]) -> dict[str, dt.datetime]:
    return {_name(t): t.due_at for t in timers}


def test_imc5_a_new_ticket_gets_a_first_response_target_and_its_breach_timer() -> None:
    ticket = _urgent_error(msk(2026, 2, 2, 9))
    state = evaluate(ticket.events, IMC, msk(2026, 2, 2, 9))
    announced, facts = observe(Announced(), state, _ref(ticket, "imc"), msk(2026, 2, 2, 9))
    [target_set] = facts
    assert isinstance(target_set, sla.TargetSet) and target_set.kind == "first_response"
    assert target_set.due_at == msk(2026, 2, 2, 18) and not target_set.customer_side  # 1 bd of 9 h
    assert announced.targets["first_response"].due_at == target_set.due_at
    assert _timers(plan(state, version=1)) == {"breach:first_response": msk(2026, 2, 2, 18)}
    assert all(t.planned_version == 1 for t in plan(state, version=1))


def test_imc8_accepting_meets_the_first_response_and_plans_the_resolution_with_its_warning() -> None:
    ticket = _urgent_error(msk(2026, 2, 2, 9))
    before, _ = observe(Announced(), evaluate(ticket.events, IMC, msk(2026, 2, 2, 9)),
                        _ref(ticket, "imc"), msk(2026, 2, 2, 9))
    ticket.move(ev.Accepted, Status.IN_PROGRESS, msk(2026, 2, 2, 10))
    state = evaluate(ticket.events, IMC, msk(2026, 2, 2, 10))
    _, facts = observe(before, state, _ref(ticket, "imc"), msk(2026, 2, 2, 10))
    assert [(type(f), f.kind) for f in facts] == [(sla.Met, "first_response"), (sla.TargetSet, "resolution")]
    met = facts[0]
    assert isinstance(met, sla.Met) and not met.breached and met.remaining_seconds == 8 * 3600
    resolution = next(t for t in state.targets if t.kind == "resolution")
    assert _timers(plan(state, version=2)) == {"breach:resolution": resolution.due_at,
                                               "warn:resolution": resolution.warn_at}
    assert resolution.due_at == msk(2026, 2, 3, 10)


def test_ks4_a_pause_drops_the_executor_timers_and_a_resume_replaces_them_with_moved_ones() -> None:
    ticket = _urgent_error(msk(2026, 2, 2, 9)).move(ev.Accepted, Status.IN_PROGRESS, msk(2026, 2, 2, 10))
    running = evaluate(ticket.events, IMC, msk(2026, 2, 2, 10))
    before, _ = observe(Announced(), running, _ref(ticket, "imc"), msk(2026, 2, 2, 10))
    ticket.move(ev.ClarificationRequested, Status.AWAITING_CUSTOMER, msk(2026, 2, 2, 12))
    paused = evaluate(ticket.events, IMC, msk(2026, 2, 2, 12))
    during, facts = observe(before, paused, _ref(ticket, "imc"), msk(2026, 2, 2, 12))
    assert isinstance(facts[0], sla.Paused) and during.paused
    assert [f.kind for f in facts if isinstance(f, sla.TargetSet)] == ["customer_reply"]
    # no executor timer while paused; IMC-6's close is the only other one
    assert set(_timers(plan(paused, version=3))) == {"breach:customer_reply", "transition"}

    ticket.move(ev.ClarificationReceived, Status.IN_PROGRESS, msk(2026, 2, 2, 17), actor=CUSTOMER)
    resumed = evaluate(ticket.events, IMC, msk(2026, 2, 2, 17))
    after, facts = observe(during, resumed, _ref(ticket, "imc"), msk(2026, 2, 2, 17))
    assert isinstance(facts[0], sla.Resumed) and not after.paused
    [moved] = [f for f in facts if isinstance(f, sla.TargetSet)]
    assert moved.kind == "resolution" and moved.due_at == msk(2026, 2, 3, 15)  # five paused hours later
    assert [f.kind for f in facts if isinstance(f, sla.Met)] == ["customer_reply"]
    timers = _timers(plan(resumed, version=4))
    assert set(timers) == {"breach:resolution", "warn:resolution"}
    assert timers["breach:resolution"] == moved.due_at
    assert timers["breach:resolution"] != _timers(plan(running, version=2))["breach:resolution"]


def test_closed_tickets_need_no_timers() -> None:
    rejected = (Ticket(msk(2026, 3, 2, 10))
                .move(ev.ClarificationRequested, Status.AWAITING_CUSTOMER, msk(2026, 3, 2, 11))
                .move(ev.Rejected, Status.REJECTED, msk(2026, 3, 16, 11), actor=SLA,
                      reason="no_clarification", automatic=True))
    done = (Ticket(msk(2026, 2, 2, 10), category=Category.ERROR)
            .move(ev.Accepted, Status.IN_PROGRESS, msk(2026, 2, 2, 10))
            .move(ev.SolutionProposed, Status.CUSTOMER_TESTING, msk(2026, 2, 2, 11))
            .move(ev.SolutionAccepted, Status.DONE, msk(2026, 2, 2, 12), actor=CUSTOMER))
    assert plan(evaluate(rejected.events, MEDIS, msk(2026, 3, 16, 11)), version=3) == []
    assert plan(evaluate(done.events, KEYSYSTEMS, msk(2026, 2, 2, 12)), version=4) == []


def test_med6_awaiting_clarification_plans_the_auto_reject_and_fires_it_as_a_command() -> None:
    ticket = Ticket(msk(2026, 3, 2, 10)).move(ev.ClarificationRequested, Status.AWAITING_CUSTOMER,
                                              msk(2026, 3, 2, 10))
    state = evaluate(ticket.events, MEDIS, msk(2026, 3, 2, 10))
    [transition] = [t for t in plan(state, version=2) if isinstance(t, TransitionTimer)]
    assert (transition.action, transition.reason, transition.status) == ("reject", "no_clarification",
                                                                        Status.AWAITING_CUSTOMER)
    assert transition.due_at == msk(2026, 3, 16, 10)  # two weeks
    ref = _ref(ticket, "medis")
    _, facts, command = fire(Announced(), transition, ref, Status.AWAITING_CUSTOMER)
    [due] = facts
    assert isinstance(due, sla.TransitionDue) and due.occurred_at == transition.due_at
    assert command is not None and (command.action, command.expected_version) == ("reject", 2)
    assert command.idempotency_key == idempotency_key("t-1", transition)  # a resend is harmless
    assert command.idempotency_key == "sla:t-1:transition:2026-03-16T07:00:00+00:00"


def test_med6_a_transition_planned_before_the_reply_fires_nothing() -> None:
    ticket = Ticket(msk(2026, 3, 2, 10)).move(ev.ClarificationRequested, Status.AWAITING_CUSTOMER,
                                              msk(2026, 3, 2, 10))
    [transition] = [t for t in plan(evaluate(ticket.events, MEDIS, msk(2026, 3, 2, 10)), version=2)
                    if isinstance(t, TransitionTimer)]
    ticket.move(ev.ClarificationReceived, Status.NEW, msk(2026, 3, 10, 10), actor=CUSTOMER)
    assert fire(Announced(), transition, _ref(ticket, "medis"), Status.NEW) == (Announced(), [], None)
    # back in awaiting_customer later, at a newer version: the old timer is stale all the same
    ticket.move(ev.ClarificationRequested, Status.AWAITING_CUSTOMER, msk(2026, 3, 11, 10))
    assert fire(Announced(), transition, _ref(ticket, "medis"), Status.AWAITING_CUSTOMER)[1:] == ([], None)


def test_imc8_warning_and_breach_are_announced_once_each() -> None:
    ticket = _urgent_error(msk(2026, 2, 2, 9)).move(ev.Accepted, Status.IN_PROGRESS, msk(2026, 2, 2, 10))
    state = evaluate(ticket.events, IMC, msk(2026, 2, 2, 10))
    announced, _ = observe(Announced(), state, _ref(ticket, "imc"), msk(2026, 2, 2, 10))
    timers = {_name(t): t for t in plan(state, version=2)}
    ref = _ref(ticket, "imc")
    warned, facts, command = fire(announced, timers["warn:resolution"], ref, Status.IN_PROGRESS)
    assert [type(f) for f in facts] == [sla.AtRisk] and command is None and warned.targets["resolution"].at_risk
    assert fire(warned, timers["warn:resolution"], ref, Status.IN_PROGRESS)[1] == []
    breached, facts, _ = fire(warned, timers["breach:resolution"], ref, Status.IN_PROGRESS)
    [breach] = facts
    assert isinstance(breach, sla.Breached) and breach.occurred_at == timers["breach:resolution"].due_at
    assert fire(breached, timers["breach:resolution"], ref, Status.IN_PROGRESS)[1] == []
    assert fire(breached, timers["warn:resolution"], ref, Status.IN_PROGRESS)[1] == []  # too late to warn


def test_end4_a_reminder_names_its_audience_from_the_policy_rule() -> None:
    endocs = POLICIES["endocs"]
    weekly = endocs.reminders[0]
    for audience in ("customer", "agent"):
        policy = msgspec.structs.replace(endocs, reminders=[msgspec.structs.replace(weekly, to=audience)])
        ticket = Ticket(msk(2025, 11, 10, 11), category=Category.SUPPORT)
        ticket.move(ev.Accepted, Status.IN_PROGRESS, msk(2025, 11, 10, 12))
        ticket.move(ev.ClarificationRequested, Status.AWAITING_CUSTOMER, msk(2025, 11, 10, 13))
        state = evaluate(ticket.events, policy, msk(2025, 11, 10, 13))
        [reminder] = [t for t in plan(state, version=3) if isinstance(t, ReminderTimer)]
        _, [fact], command = fire(Announced(), reminder, _ref(ticket, "endocs"), Status.AWAITING_CUSTOMER)
        assert isinstance(fact, sla.ReminderDue) and fact.to == audience and command is None


def test_imc9_an_unplanned_release_target_has_no_timer_and_a_planned_release_binds_it_with_one() -> None:
    ticket = Ticket(msk(2026, 2, 2, 9), category=Category.ERROR, priority=Priority.NORMAL)
    ticket.move(ev.Accepted, Status.IN_PROGRESS, msk(2026, 2, 2, 10))
    unplanned = evaluate(ticket.events, IMC, msk(2026, 2, 2, 10))
    before, facts = observe(Announced(), unplanned, _ref(ticket, "imc"), msk(2026, 2, 2, 10))
    [target_set] = [f for f in facts if isinstance(f, sla.TargetSet) and f.kind == "resolution"]
    assert (target_set.release, target_set.release_id, target_set.due_at) == ("next_scheduled", None, None)
    assert "breach:resolution" not in _timers(plan(unplanned, version=2))
    releases = [ReleaseDate("r-1", "scheduled", dt.date(2026, 2, 4)), ReleaseDate("r-2", "scheduled",
                                                                                  dt.date(2026, 2, 4))]
    bound = evaluate(ticket.events, IMC, msk(2026, 2, 2, 11), releases)
    after, [rebound] = observe(before, bound, _ref(ticket, "imc"), msk(2026, 2, 2, 11))
    assert (rebound.release_id, rebound.due_at) == ("r-1", msk(2026, 2, 4, 18))
    assert _timers(plan(bound, version=2))["breach:resolution"] == msk(2026, 2, 4, 18)
    moved = evaluate(ticket.events, IMC, msk(2026, 2, 2, 12), releases[1:])  # same date, another release
    _, [again] = observe(after, moved, _ref(ticket, "imc"), msk(2026, 2, 2, 12))
    assert (again.release_id, again.due_at) == ("r-2", msk(2026, 2, 4, 18))

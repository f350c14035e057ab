"""Provisional deadlines (production calendar, issue #11 item 1) in the SLA service's planning. No I/O."""

from __future__ import annotations

import hashlib

import msgspec

from helpdesk_shared import events as ev
from helpdesk_shared import sla_events as sla
from helpdesk_shared.policies import calendar_of
from helpdesk_shared.vocabulary import Category, Priority, Status
from helpdesk_sla.entrypoints.policies import policy_fingerprint
from helpdesk_sla.domain.evaluation import evaluate
from helpdesk_sla.domain.planning import Announced, TicketRef, observe
from tests.shared.histories import POLICIES, Ticket, msk, target

IMC = POLICIES["imc"]
PUBLISHED = calendar_of(IMC).published_through or 0


def _late_ticket() -> Ticket:
    at = msk(PUBLISHED, 12, 29, 10)
    return Ticket(at, category=Category.SUPPORT, priority=Priority.NORMAL).move(ev.Accepted, Status.IN_PROGRESS, at)


def test_production_calendar_a_provisional_deadline_is_announced_as_provisional() -> None:
    ticket = _late_ticket()
    state = evaluate(ticket.events, IMC, ticket.events[-1].occurred_at)
    ref = TicketRef("t-1", "c-1", "imc", len(ticket.events))
    announced, facts = observe(Announced(), state, ref, ticket.events[-1].occurred_at)
    [resolution] = [f for f in facts if isinstance(f, sla.TargetSet) and f.kind == "resolution"]
    assert resolution.provisional and announced.targets["resolution"].provisional
    # newer data publishes the year: the same deadline is announced again, no longer provisional
    settled = msgspec.structs.replace(state, targets=[msgspec.structs.replace(t, provisional=False)
                                                      for t in state.targets])
    _, facts = observe(announced, settled, ref, ticket.events[-1].occurred_at)
    assert [(f.kind, f.provisional) for f in facts if isinstance(f, sla.TargetSet)] == [("resolution", False)]


def test_production_calendar_the_published_year_is_part_of_a_policys_fingerprint() -> None:
    """The SLA service re-plans a policy's open tickets at start when its fingerprint changed."""
    data = msgspec.json.encode(IMC, enc_hook=repr)
    assert policy_fingerprint(IMC) == hashlib.sha256(data + f"|published:{PUBLISHED}".encode()).hexdigest()
    assert policy_fingerprint(POLICIES["telemed"]) == hashlib.sha256(
        msgspec.json.encode(POLICIES["telemed"], enc_hook=repr)).hexdigest()  # no production calendar


def test_production_calendar_a_deadline_in_an_unpublished_year_is_provisional():
    published = calendar_of(POLICIES["medis"]).published_through
    assert published is not None and published >= 2027
    late = msk(published, 12, 29, 10)  # support/normal: 5 bd cross into the unpublished year
    ticket = (Ticket(late, category=Category.SUPPORT, priority=Priority.NORMAL)
              .move(ev.Accepted, Status.IN_PROGRESS, late))
    imc = POLICIES["imc"]
    resolution = target(evaluate(ticket.events, imc, late), "resolution")
    assert resolution.due_at.year == published + 1 and resolution.provisional
    early = msk(published, 11, 1, 10)
    ticket = (Ticket(early, category=Category.SUPPORT, priority=Priority.NORMAL)
              .move(ev.Accepted, Status.IN_PROGRESS, early))
    assert not target(evaluate(ticket.events, imc, early), "resolution").provisional

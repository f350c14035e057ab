"""Ticket use cases: open, triage, comment, log time, and the workflow actions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from helpdesk_shared.events import Attachment
from helpdesk_shared.vocabulary import Role

from helpdesk_intake.adapters import hours
from helpdesk_intake.adapters.eventstore import SideRow, ticket_number_row
from helpdesk_intake.application import commands as cmd
from helpdesk_intake.application.catalogue import CatalogueService
from helpdesk_intake.application.releases import promised_release
from helpdesk_intake.application.service import Change, IntakeService, NotFound, Outcome, Request, new_id
from helpdesk_intake.domain.base import Context, InvalidInput
from helpdesk_intake.domain.budget import MonthBudget, billable_allowed
from helpdesk_intake.domain.rules import TicketRules
from helpdesk_intake.domain.ticket import Ticket
from helpdesk_intake.domain.user import User


def ticket_answer(ticket: Ticket) -> dict[str, Any]:
    """The body every successful ticket command answers with (CONTRACT §3)."""
    return {"id": str(ticket.id), "number": ticket.number, "status": ticket.status.value,
            "version": ticket.version}


class TicketService(CatalogueService):
    def open(self, request: Request, command: cmd.OpenTicket) -> Outcome:
        """Register a ticket for the caller's customer (or, for staff, the named one)."""
        def decide() -> Change:
            ctx = self.context(request)
            customer_id, requester_id = self._filer(request, command)
            return self.new_ticket(
                ctx, customer_id, requester_id, subject=command.subject,
                description=command.description, channel=command.channel.value,
                category=_value(command.category), priority=command.priority.value, service=command.service,
                details=command.details,
            )

        return self.execute(request, decide)

    def new_ticket(self, ctx: Context, customer_id: str, requester_id: str | None, **fields: Any) -> Change:
        """A new ticket of an active customer, under its policy, with its number's index entry."""
        customer = self.active_customer(customer_id)
        number = self._next_number()
        ticket = Ticket.open(ctx, self.rules_for(customer.policy), id=new_id(), number=number,
                             customer_id=customer_id, requester_id=requester_id, policy=customer.policy, **fields)
        return Change([ticket], ticket_answer(ticket), rows=[ticket_number_row(number, ticket.id)], status_code=201)

    def triage(self, request: Request, ticket_id: str, command: cmd.Triage) -> Outcome:
        def decide() -> Change:
            ctx = self.context(request)
            ticket = self.visible_ticket(request.principal, ticket_id)
            given = command.given()
            promised_release(self, given.get("release"))
            ticket.triage(ctx, self._rules(ticket), **_plain(given))
            return Change([ticket], ticket_answer(ticket))

        return self.execute(request, decide, key=ticket_id)

    def comment(self, request: Request, ticket_id: str, command: cmd.AddComment,
                files: Callable[[], tuple[Attachment, ...]] | None = None) -> Outcome:
        """Comment; ``files`` stores the files it carries, once the ticket is known to be the caller's."""
        def decide() -> Change:
            ctx = self.context(request)
            ticket = self.visible_ticket(request.principal, ticket_id)
            attachments = files() if files else ()
            ticket.add_comment(ctx, self._rules(ticket), comment_id=str(new_id()), body=command.body,
                               visibility=command.visibility, attachments=attachments,
                               call=getattr(command, "call", False))
            body = ticket_answer(ticket)
            if attachments:
                body["attachments"] = msgspec.to_builtins(attachments)
            return Change([ticket], body, status_code=201)

        return self.execute(request, decide, key=ticket_id)

    def log_time(self, request: Request, ticket_id: str, command: cmd.LogTime) -> Outcome:
        def decide() -> Change:
            ctx = self.context(request)
            ticket = self.visible_ticket(request.principal, ticket_id)
            billed_before = ticket.billed_minutes
            terms, rules = self.terms(ticket.customer_id), self._rules(ticket)
            billable = billable_allowed(command.billable, terms.paid_support, rules.paid_support_only())
            budget = self.month_budget(ticket.customer_id, ctx.now)
            ticket.log_time(ctx, rules, entry_id=str(new_id()), minutes=command.minutes, billable=billable,
                            note=command.note, budget=budget)
            body = {**ticket_answer(ticket), "minutes": command.minutes,
                    "billed_minutes": ticket.billed_minutes - billed_before}
            counted = ticket.pending_events[-1].budget_month  # type: ignore[attr-defined]
            rows = [hours.spent_row(ticket.customer_id, counted, command.minutes)] if counted else []
            return Change([ticket], body, rows=rows, status_code=201)

        return self.execute(request, decide, key=ticket_id)

    def act(self, request: Request, ticket_id: str, action: str, command: cmd.ActOnTicket) -> Outcome:
        def decide() -> Change:
            ctx = self.context(request)
            ticket = self.visible_ticket(request.principal, ticket_id)
            budget = self.month_budget(ticket.customer_id, ctx.now) if ticket.accepts_on(action) else None
            ticket.act(ctx, self._rules(ticket), action, comment=command.comment, reason=command.reason,
                       budget=budget)
            return Change([ticket], ticket_answer(ticket), rows=self._budget_rows(ticket, budget))

        return self.execute(request, decide, key=ticket_id)

    def month_budget(self, customer_id: str, now: dt.datetime) -> MonthBudget:
        """The customer's norm-hours in the month of ``now`` in its policy's time zone (MED-12)."""
        terms = self.terms(customer_id)
        policy = self.rules_for(terms.policy).policy  # type: ignore[attr-defined]
        month = now.astimezone(ZoneInfo(policy.calendar.timezone)).strftime("%Y-%m")
        hours_a_month = terms.monthly_hours if terms.monthly_hours is not None else policy.budget.default_monthly_hours
        if not policy.budget.enforced or hours_a_month is None:
            return MonthBudget(month, None)
        used = self.store.rows.hours_used(customer_id, month, policy.budget.measure)
        return MonthBudget(month, round(hours_a_month * 60), used)

    def _budget_rows(self, ticket: Ticket, budget: MonthBudget | None) -> list[SideRow]:
        """The tally row of an acceptance under a budget; the CHECK guards the planned measure."""
        if budget is None or not budget.budgeted:
            return []
        counted = ticket.pending_events[-1].budget_minutes  # type: ignore[attr-defined]
        measure = self.rules_of(ticket.customer_id).policy.budget.measure  # type: ignore[attr-defined]
        return [hours.planned_row(ticket.customer_id, budget.month, counted,
                                  budget.budget_minutes if measure == "planned" and counted else None)]

    # -- helpers ------------------------------------------------------------------------

    def _rules(self, ticket: Ticket) -> TicketRules:
        return self.rules_of(ticket.customer_id)

    def _filer(self, request: Request, command: cmd.OpenTicket) -> tuple[str, str | None]:
        """Whose ticket it is: a customer files for itself; staff name the customer (phone, KS-1)."""
        principal = request.principal
        if principal.role is Role.CUSTOMER:
            if command.customer_id not in (None, principal.customer_id):
                raise InvalidInput("a customer files tickets for its own customer", field="customer_id")
            return principal.customer_id or "", principal.id
        if not command.customer_id:
            raise InvalidInput("staff must name the customer the ticket is for", field="customer_id")
        if not command.requester_id:  # TEL-7: a request identifies a registered user
            raise InvalidInput("staff must name the requester, a registered user of the customer (TEL-7)",
                               field="requester_id")
        try:
            requester = self.load(User, command.requester_id)
        except NotFound:
            raise InvalidInput("the requester is not a registered user", field="requester_id") from None
        if requester.customer_id != command.customer_id:
            raise InvalidInput("the requester is not a user of that customer", field="requester_id")
        return command.customer_id, command.requester_id

    def _next_number(self) -> str:
        return f"HD-{self.store.rows.next_ticket_number()}"


def _plain(changes: dict[str, Any]) -> dict[str, Any]:
    """The triage changes as the domain takes them: enums as their values, structs (third_party) as dicts."""
    return {name: _value(value) if hasattr(value, "value") else
            msgspec.to_builtins(value) if isinstance(value, msgspec.Struct) else value
            for name, value in changes.items()}


def _value(enum_value: Any) -> Any:
    return enum_value.value if enum_value is not None else None

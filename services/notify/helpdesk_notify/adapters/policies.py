"""The SLA policies' answers notify puts in mail: until when the customer may check a solution,
the time zone deadlines are told in (the one the policy's business calendar counts in), and
the labels of deferral reasons (TEL-9)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from helpdesk_shared import events as ev
from helpdesk_shared.policies import Policy, calendar_of, deferral_reason, load_policies
from helpdesk_shared.policies.offering import form_for

from helpdesk_notify.domain.notifications import missing_label
from helpdesk_notify.domain.ticket import TicketView


class PolicyWindows:
    """``Windows`` from the policies in force (a ``PolicyBook``, changed in place by published versions)."""

    def __init__(self, policies: dict[str, Policy]) -> None:
        self._policies = policies

    @classmethod
    def load(cls, policy_dir: str | None) -> PolicyWindows:
        return cls(load_policies(policy_dir))

    def acceptance_until(self, view: TicketView, at: dt.datetime) -> dt.datetime | None:
        policy = self._policies.get(view.policy or "")
        rule = policy.rule_for("acceptance", view.category, view.priority) if policy else None
        if policy is None or rule is None or rule.acceptance is None:
            return None
        until = rule.acceptance.after(calendar_of(policy), at)
        return until.astimezone(ZoneInfo(policy.calendar.timezone))

    def solution_by_call(self, view: TicketView) -> bool:
        policy = self._policies.get(view.policy or "")
        return policy is not None and view.channel in policy.solution_callback

    def mails_processing_started(self, view: TicketView) -> bool:
        policy = self._policies.get(view.policy or "")
        return policy is not None and policy.mail_processing_started

    def local(self, policy: str | None, at: dt.datetime) -> dt.datetime:
        known = self._policies.get(policy or "")
        return at.astimezone(ZoneInfo(known.calendar.timezone) if known else dt.UTC)

    def deferral_label(self, policy: str | None, code: str | None) -> dict[str, str] | None:
        known = self._policies.get(policy or "")
        reason = deferral_reason(known, code or "") if known else None
        return {"ru": reason.label.ru, "en": reason.label.en} if reason else None

    def detail_labels(self, fact: ev.TicketOpened) -> list[dict[str, Any]]:
        policy = self._policies.get(fact.policy or "")
        form = form_for(policy.forms, fact.category, fact.channel) if policy else None
        labels = {f"details.{f.name}": {"ru": f.label.ru, "en": f.label.en} for f in (form.fields if form else [])}
        return [missing_label(name, labels.get(name)) for name in fact.missing_details]

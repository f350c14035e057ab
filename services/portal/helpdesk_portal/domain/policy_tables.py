"""A published policy version as the tables an admin reads: calendar, targets, transitions, reminders,
reopen windows, billing and the other settings, each row with the regulation rules it implements.

Rows carry a ``key`` that names the same row in another version, so two versions compare row by row
(``policy_diff``). Cells are plain strings in the page's language; codes stay codes (``3bd``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from helpdesk_shared.policies import PolicyError, parse_policy
from helpdesk_shared.policies.duration import enc_hook

from helpdesk_portal.domain import words
from helpdesk_portal.domain.words import N_, Gettext

WEEKDAYS = {"mon": N_("Monday"), "tue": N_("Tuesday"), "wed": N_("Wednesday"), "thu": N_("Thursday"),
            "fri": N_("Friday"), "sat": N_("Saturday"), "sun": N_("Sunday")}
TARGET_KINDS = ("first_response", "resolution", "acceptance", "remark_fix", "warning")
SHOWN_ELSEWHERE = frozenset({"id", "name", "regulation", "description", "calendar", "targets", "transitions",
                             "reminders", "reopen", "billing", "budget", "services", "forms", "deferral_reasons",
                             "rules"})


@dataclass
class Row:
    key: str
    cells: list[str]
    rules: list[str] = field(default_factory=list)


@dataclass
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[Row]


def tables(document: str, _: Gettext) -> list[Table]:
    """The tables of a policy document; ``PolicyError`` when it is not one (the page shows the text)."""
    policy = msgspec.to_builtins(parse_policy(document), enc_hook=enc_hook)
    rules: dict[str, list[str]] = policy.get("rules", {})
    return [_calendar(policy["calendar"], rules.get("calendar", []), _), _targets(policy.get("targets", []), _),
            _transitions(policy.get("transitions", []), _), _reminders(policy.get("reminders", []), _),
            _windows(policy.get("reopen", {}), rules.get("reopen", []), _), _billing(policy, rules, _),
            _settings(policy, rules, _)]


def _value(value: Any, _: Gettext) -> str:
    """A setting's value in words: yes/no, lists joined, a missing value as a dash."""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if value is None or value == [] or value == {}:
        return "—"
    if isinstance(value, list):
        return ", ".join(_value(v, _) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_value(v, _)}" for k, v in value.items())
    return str(value)


def _calendar(calendar: dict[str, Any], rules: list[str], _: Gettext) -> Table:
    hours = calendar.get("hours", {})
    rows = [Row("timezone", [_("Time zone"), calendar["timezone"]], rules)]
    rows += [Row(day, [_(label), _value(hours.get(day), _)], rules) for day, label in WEEKDAYS.items()]
    holidays = calendar.get("holidays")
    production = _("production calendar")
    source = (f"{holidays} ({production})" if calendar.get("production_calendar") else holidays) \
        if holidays else _("none: every weekday above is a working day")
    rows.append(Row("holidays", [_("Holidays"), source], rules))
    for name, label in (("extra_days_off", _("Extra days off")), ("extra_working_days", _("Extra working days")),
                        ("shorten_pre_holiday", _("Pre-holiday day shortened"))):
        if calendar.get(name):
            rows.append(Row(name, [label, _value(calendar[name], _)], rules))
    return Table("calendar", _("Calendar"), [_("Setting"), _("Value")], rows)


def _any(value: Any, _: Gettext) -> str:
    return _(words.CATEGORIES.get(value, value)) if value else _("any")


def _targets(targets: list[dict[str, Any]], _: Gettext) -> Table:
    rows = []
    for rule in targets:
        cells = [_any(rule.get("category"), _), _(words.PRIORITIES.get(rule.get("priority"), rule.get("priority")))
                 if rule.get("priority") else _("any")]
        for kind in TARGET_KINDS:
            release = rule.get(f"{kind}_release")
            cells.append(_("release: %(kind)s") % {"kind": release} if release else _value(rule.get(kind), _))
        rows.append(Row(f"{rule.get('category') or '*'}×{rule.get('priority') or '*'}", cells, rule.get("rules", [])))
    columns = [_("Category"), _("Priority"), _("First response"), _("Resolution"), _("Acceptance"),
               _("Remark fix"), _("Warning before")]
    return Table("targets", _("Targets by category × priority"), columns, rows)


def _transitions(transitions: list[dict[str, Any]], _: Gettext) -> Table:
    rows = [Row(f"{t['status']}:{_value(t.get('categories'), _)}",
                [_(words.STAFF_STATUSES.get(t["status"], t["status"])), t["after"], t["action"], t["reason"],
                 _value(t.get("automatic", True), _), _value(t.get("categories"), _)], t.get("rules", []))
            for t in transitions]
    columns = [_("Status"), _("After"), _("Action"), _("Reason"), _("Automatic"), _("Categories")]
    return Table("transitions", _("Automatic transitions"), columns, rows)


def _reminders(reminders: list[dict[str, Any]], _: Gettext) -> Table:
    rows = [Row(f"{r['status']}:{r.get('to', 'customer')}",
                [_(words.STAFF_STATUSES.get(r["status"], r["status"])), r["every"], r.get("to", "customer")],
                r.get("rules", [])) for r in reminders]
    return Table("reminders", _("Reminders"), [_("Status"), _("Every"), _("To")], rows)


def _windows(reopen: dict[str, Any], rules: list[str], _: Gettext) -> Table:
    rows = [Row(name, [_(words.CATEGORIES.get(name, name)) if name != "default" else _("any other"),
                       _value(reopen.get(name), _)], rules)
            for name in ("default", "error", "support", "improvement") if reopen.get(name)]
    rows.append(Row("close_when_over", [_("Close a ticket in testing when the window ends"),
                                        _value(reopen.get("close_when_over", False), _)], rules))
    return Table("windows", _("Reopen windows"), [_("Category"), _("Window")], rows)


def _billing(policy: dict[str, Any], rules: dict[str, list[str]], _: Gettext) -> Table:
    billing, budget = policy.get("billing", {}), policy.get("budget", {})
    labels = {"step_minutes": _("Rounding step, minutes"), "minimum_minutes": _("Minimum billed, minutes"),
              "paid_support_only": _("Billable under paid support only"), "enforced": _("Monthly budget enforced"),
              "measure": _("Budget measured on"), "default_monthly_hours": _("Default monthly hours")}
    rows = [Row(f"billing.{k}", [labels[k], _value(v, _)], rules.get("billing", [])) for k, v in billing.items()]
    rows += [Row(f"budget.{k}", [labels[k], _value(v, _)], rules.get("budget", [])) for k, v in budget.items()]
    return Table("billing", _("Billing and budget"), [_("Setting"), _("Value")], rows)


def _settings(policy: dict[str, Any], rules: dict[str, list[str]], _: Gettext) -> Table:
    rows = [Row(name, [name, _value(value, _)], rules.get(name, [])) for name, value in policy.items()
            if name not in SHOWN_ELSEWHERE]
    return Table("settings", _("Other settings"), [_("Setting"), _("Value")], rows)


def readable(document: str, _: Gettext) -> tuple[list[Table], str | None]:
    """The tables, or none and why when a stored version no longer parses (the text is shown instead)."""
    try:
        return tables(document, _), None
    except PolicyError as error:
        return [], str(error)

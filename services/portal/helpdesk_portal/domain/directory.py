"""The admins' directory and releases as people read them: forms turned into the API's bodies (only what
changed), the confirmation after a change, a customer's history in words. No rule is decided here: the
APIs refuse what is not allowed, the portal only says so."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from helpdesk_portal.domain import words
from helpdesk_portal.domain.words import Gettext, N_

LANGUAGES = {"ru": "Русский", "en": "English"}  # each in its own language, as the switch shows them
LANGUAGE_OPTIONS = [("", "—"), *LANGUAGES.items()]
STAFF_ROLES = {"agent": N_("Agent"), "admin": N_("Administrator"), "auditor": N_("Auditor")}
RELEASE_KINDS = {"scheduled": N_("Scheduled update"), "unscheduled": N_("Unscheduled update")}
# What a page says after a change (``?done=<code>``): only these, never text from the URL.
DONE = {
    "customer_registered": N_("The customer has been registered."),
    "customer_changed": N_("The customer has been changed."),
    "user_registered": N_("The user has been registered."),
    "staff_registered": N_("The staff member has been registered."),
    "user_changed": N_("The user has been changed."),
    "user_blocked": N_("The user has been blocked: their sessions have ended."),
    "user_unblocked": N_("The user has been unblocked."),
    "user_deactivated": N_("The user has been deactivated: their sessions have ended."),
    "user_reactivated": N_("The user has been reactivated."),
    "password_set": N_("The password has been set: the user's sessions have ended."),
    "release_planned": N_("The release has been planned."),
    "release_changed": N_("The release has been re-dated: its tickets' deadlines follow."),
}
HISTORY = {
    "customer.registered": N_("Customer registered"), "customer.policy_changed": N_("Policy changed"),
    "customer.contract_changed": N_("Contract changed"), "customer.language_changed": N_("Default language changed"),
    "user.registered": N_("User registered"), "user.blocked": N_("User blocked"),
    "user.unblocked": N_("User unblocked"), "user.deactivated": N_("User deactivated"),
    "user.reactivated": N_("User reactivated"), "user.contact_changed": N_("Contacts changed"),
    "user.language_changed": N_("Language changed"), "user.password_changed": N_("Password changed by the user"),
    "user.password_reset": N_("Password set by an administrator"),
}

# The fields of a directory fact a history entry shows, with their labels.
FACT_FIELDS = {
    "name": N_("Name"), "login": N_("Login"), "email": N_("E-mail"), "phone": N_("Phone"), "policy": N_("Policy"),
    "monthly_hours": N_("Hours budget"), "paid_support": N_("Paid support"), "active": N_("Contract active"),
    "language": N_("Language"), "reason": N_("Reason"),
}


def done_message(code: str | None, _: Gettext) -> list[dict[str, str]]:
    """The confirmation a page shows after a change it redirected from."""
    return [{"kind": "info", "text": _(DONE[code]), "detail": ""}] if code in DONE else []


def text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def contract_of(form: Mapping[str, Any]) -> dict[str, Any]:
    """The contract a customer form describes: hours budget (empty: none), paid support, active."""
    hours = text(form, "monthly_hours")
    return {"monthly_hours": _number(hours) if hours else None, "paid_support": form.get("paid_support") == "on",
            "active": form.get("active") == "on"}


def new_customer(form: Mapping[str, Any]) -> dict[str, Any]:
    """``POST /v1/customers``'s body from the form."""
    body: dict[str, Any] = {"name": text(form, "name"), "email": text(form, "email"), "policy": text(form, "policy"),
                            "contract": contract_of(form)}
    if code := text(form, "client_code"):
        body["client_code"] = code
    return body


def customer_changes(customer: Mapping[str, Any], form: Mapping[str, Any]) -> dict[str, Any]:
    """``PATCH /v1/customers/{id}``'s body: only what the form changed."""
    changes: dict[str, Any] = {}
    if (policy := text(form, "policy")) and policy != customer.get("policy"):
        changes["policy"] = policy
    contract = contract_of(form)
    if contract != {k: (customer.get("contract") or {}).get(k) for k in contract}:
        changes["contract"] = contract
    if (language := text(form, "language")) and language != customer.get("language"):
        changes["language"] = language
    return changes


def new_user(form: Mapping[str, Any], staff: bool) -> dict[str, Any]:
    """``POST /v1/customers/{id}/users`` (or, with ``staff``, ``POST /v1/staff``)'s body from the form."""
    names = ("name", "email", "login", "password") + (("role", "department") if staff else ("phone",))
    body: dict[str, Any] = {k: v for k in names if (v := text(form, k)) or k in names[:4]}
    body["password"] = str(form.get("password", ""))  # as typed: spaces may be part of it
    if language := text(form, "language"):
        body["language"] = language
    return body


def user_changes(found: Mapping[str, Any], form: Mapping[str, Any]) -> dict[str, Any]:
    """``PATCH /v1/users/{id}``'s body for the contacts and language: only what the form changed."""
    changes: dict[str, Any] = {k: v for k in ("name", "email", "language")
                               if (v := text(form, k)) and v != found.get(k)}
    if "phone" in form and (text(form, "phone") or None) != found.get("phone"):
        changes["phone"] = text(form, "phone") or None
    return changes


def state(found: Mapping[str, Any], _: Gettext) -> str:
    """A user's standing in a word: active, blocked, deactivated."""
    if not found.get("active", True):
        return _("Deactivated")
    return _("Blocked") if found.get("blocked") else _("Active")


def history(items: list[dict[str, Any]], names: Mapping[str, str], zone: str, locale: str,
            _: Gettext) -> list[dict[str, Any]]:
    """The customer's history, newest first: when, who did it, what, to whom and the values it set."""
    entries = []
    for item in reversed(items):
        data = item.get("data") or {}
        kind = str(item.get("type", "")).removeprefix("helpdesk.")
        who = item.get("actor") or {}
        entries.append({
            "time": words.instant(item.get("time"), zone, locale),
            "actor": names.get(str(who.get("id")), "") or _(words.ROLES.get(str(who.get("role")), "System")),
            "what": _(HISTORY[kind]) if kind in HISTORY else _("Other change"),
            "whom": names.get(str(data.get("user_id")), "") if kind.startswith("user.") else "",
            "changed": _values(data, _),
        })
    return entries


def _values(data: Mapping[str, Any], _: Gettext) -> str:
    """The values a fact set, labelled in words: ``Hours budget: 60, Paid support: yes``."""
    def shown(value: Any) -> str:
        return (_("yes") if value else _("no")) if isinstance(value, bool) else f"{value:g}" \
            if isinstance(value, float) else str(value)
    return ", ".join(f"{_(label)}: {shown(data[k])}" for k, label in FACT_FIELDS.items()
                     if k in data and data[k] is not None)


def _number(value: str) -> float | str:
    try:
        return float(value.replace(",", "."))
    except ValueError:
        return value  # the API names the field

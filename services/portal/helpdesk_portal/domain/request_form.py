"""The new-request form a customer's policy offers, from intake's ``GET /v1/catalogue`` (CONTRACT §3):
the two-level service catalogue, the typed ``details`` of the chosen category, priorities and channels."""

from __future__ import annotations

from typing import Any

import msgspec

from helpdesk_shared.policies.offering import Form, form_for
from helpdesk_shared.vocabulary import Category, Channel

from helpdesk_portal.domain.words import Gettext

DETAIL = "details."  # the form fields of the details are named ``details.<name>``, as intake's errors name them


def label(text: dict[str, str] | None, locale: str) -> str:
    """A ``{ru, en}`` label of the policy in the page's language."""
    return (text or {}).get(locale) or (text or {}).get("ru", "")


def service_groups(catalogue: dict[str, Any], locale: str, _: Gettext) -> list[dict[str, Any]]:
    """``[{label, options: [(code, text)]}]``: a group with children becomes an optgroup of them, a lone
    service a group of itself; a service outside the contract's hours is marked paid extra (MED-12)."""
    def text(entry: dict[str, Any]) -> str:
        name = entry["code"] + ". " + label(entry.get("name"), locale)
        return name + " — " + _("paid extra") if entry.get("paid_extra") else name
    groups = []
    for entry in catalogue.get("services", []):
        children = entry.get("children") or []
        options = [(child["code"], text(child)) for child in children] or [(entry["code"], text(entry))]
        groups.append({"label": text(entry) if children else "", "options": options})
    return groups


def detail_fields(catalogue: dict[str, Any], category: str | None, channel: str | None,
                  locale: str) -> list[dict[str, Any]]:
    """The details the most specific form of ``category`` through ``channel`` asks for, ready for the page."""
    forms = msgspec.convert(catalogue.get("forms", []), list[Form])
    form = form_for(forms, _enum(Category, category), _enum(Channel, channel))
    return [{"name": DETAIL + f.name, "type": f.type, "required": f.required,
             "label": label(msgspec.to_builtins(f.label), locale),
             "hint": label(msgspec.to_builtins(f.help), locale) if f.help else None,
             "choices": f.choices or []} for f in (form.fields if form else [])]


def details_of(form: dict[str, str], fields: list[dict[str, Any]]) -> dict[str, Any]:
    """The typed details from the submitted form (a number that is not one goes as text: intake says why)."""
    details: dict[str, Any] = {}
    for field in fields:
        value = form.get(field["name"], "").strip()
        if value:
            details[field["name"][len(DETAIL):]] = _number(value) if field["type"] == "number" else value
    return details


def channel_for(catalogue: dict[str, Any], staff: bool) -> str:
    """The channel a request is filed through: a phone call for staff, else the portal where the policy
    registers it, otherwise the first it does (TelemedHelp: chat)."""
    offered = catalogue.get("channels") or ["portal"]
    preferred = ("phone",) if staff else ("portal", "chat")
    return next((c for c in preferred if c in offered), offered[0])


def _number(value: str) -> Any:
    try:
        return int(value)
    except ValueError:
        try:
            return float(value.replace(",", "."))
        except ValueError:
            return value


def _enum(kind: Any, value: str | None) -> Any:
    try:
        return kind(value) if value else None
    except ValueError:
        return None

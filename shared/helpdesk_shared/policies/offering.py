"""What a policy offers a requester, as data: its service catalogue, request forms and deferral reasons.

MED-3 / IMC-1: a two-level catalogue of numbered services, each inside the contract's
hours or paid extra (MED-12). KS-7, END-8, TEL-7, MED-11: the typed ``details`` a request
of a category (and channel) carries. TEL-9: the reasons a request may be deferred for.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import msgspec

from helpdesk_shared.vocabulary import Category, Channel, Priority

MAX_DETAIL_TEXT = 4000  # characters in one text detail
MAX_DETAILS = 30  # fields in one request's details


class _Data(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class Label(_Data, frozen=True, kw_only=True):
    """A text in both languages of the product."""

    ru: str
    en: str


class ServiceEntry(_Data, frozen=True, kw_only=True):
    """One service of the catalogue; a group's ``children`` are its services (two levels)."""

    code: str
    name: Label
    paid_extra: bool = False  # outside the contract's paid hours (MED-12)
    children: list[ServiceEntry] = []


class FormField(_Data, frozen=True, kw_only=True):
    """One typed detail a request form asks for."""

    name: str
    type: Literal["text", "number", "date", "choice"] = "text"
    required: bool = False
    label: Label
    help: Label | None = None
    choices: list[str] | None = None  # the values of a ``choice`` field


class Form(_Data, frozen=True, kw_only=True):
    """The details of requests of ``category`` (None: any) arriving by ``channel`` (None: any)."""

    category: Category | None = None
    channel: Channel | None = None
    fields: list[FormField] = []

    def applies(self, category: Category | None, channel: Channel | None) -> bool:
        return self.category in (None, category) and self.channel in (None, channel)

    @property
    def specificity(self) -> int:
        return (self.category is not None) * 2 + (self.channel is not None)


class DeferralReason(_Data, frozen=True, kw_only=True):
    """A reason a request may be deferred for (TEL-9)."""

    code: str
    label: Label


def check_catalogue(services: list[ServiceEntry]) -> None:
    """Codes are unique and the catalogue has at most two levels; raises ``ValueError``."""
    seen: set[str] = set()
    for entry in services:
        for node in (entry, *entry.children):
            if node.code in seen:
                raise ValueError(f"services: code {node.code!r} appears twice")
            seen.add(node.code)
        if any(child.children for child in entry.children):
            raise ValueError(f"services: {entry.code!r} has a third level; the catalogue has two")


def find_service(services: list[ServiceEntry], code: str) -> ServiceEntry | None:
    """The entry (group or service) with ``code``, or None."""
    for entry in services:
        for node in (entry, *entry.children):
            if node.code == code:
                return node
    return None


def form_for(forms: list[Form], category: Category | None, channel: Channel | None) -> Form | None:
    """The most specific form for a request of ``category`` through ``channel``."""
    fitting = [form for form in forms if form.applies(category, channel)]
    return max(fitting, key=lambda form: form.specificity, default=None)


def detail_problems(form: Form | None, details: dict[str, Any]) -> tuple[list[tuple[str, str]], list[str]]:
    """What is wrong with ``details`` under ``form``: ``(wrong, missing)``.

    ``wrong`` pairs a field (``details.<name>``) with why; ``missing`` names required fields
    not given. A detail the form does not ask for is wrong: details are the form's only.
    """
    fields = {f.name: f for f in form.fields} if form else {}
    wrong = [(f"details.{name}", _type_problem(fields[name], value) if name in fields else "not a field of this form")
             for name, value in details.items()]
    wrong = [(name, why) for name, why in wrong if why]
    missing = [f"details.{f.name}" for f in fields.values() if f.required and _blank(details.get(f.name))]
    return wrong, [m for m in missing if m not in dict(wrong)]


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _type_problem(field: FormField, value: Any) -> str | None:
    """Why ``value`` is not a value of ``field``, or None."""
    if value is None:
        return None
    match field.type:
        case "number":
            ok = isinstance(value, int | float) and not isinstance(value, bool) and abs(value) < 1e12
            return None if ok else "must be a number"
        case "date":
            return None if isinstance(value, str) and _is_date(value) else "must be a date (YYYY-MM-DD)"
        case "choice":
            return None if value in (field.choices or []) else f"must be one of {', '.join(field.choices or [])}"
    if not isinstance(value, str):
        return "must be text"
    return None if len(value) <= MAX_DETAIL_TEXT else f"is longer than {MAX_DETAIL_TEXT} characters"


def _is_date(value: str) -> bool:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def catalogue_document(policy: Any) -> dict[str, Any]:
    """What a policy offers, in the shape of ``GET /v1/catalogue`` (CONTRACT §3); null category: any."""
    return {
        "policy": policy.id,
        "services": msgspec.to_builtins(policy.services),
        "forms": [_omit_none(msgspec.to_builtins(form)) for form in policy.forms],
        "priorities": [p.value for p in (policy.priorities or list(Priority))],
        "channels": [c.value for c in (policy.channels or list(Channel))],
        "deferral_reasons": msgspec.to_builtins(policy.deferral_reasons),
    }


def _omit_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _omit_none(v) for k, v in value.items() if v is not None or k == "category"}
    if isinstance(value, list):
        return [_omit_none(v) for v in value]
    return value

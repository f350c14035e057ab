"""The ticket page: a customer's public thread and an agent's workspace — reply, workflow buttons from
``allowed_actions`` only, triage and planning, time logging. Every change is a command on intake."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Redirect, Template

from helpdesk_portal import i18n
from helpdesk_portal.adapters.api import Api, ApiError
from helpdesk_portal.adapters.zones import policy_zones
from helpdesk_portal.domain import request_form, views, words
from helpdesk_portal.domain.session import User
from helpdesk_portal.entrypoints.web import language, render

TRIAGE = ("category", "priority", "service", "responsible_id", "owner_id", "department", "planned_date",
          "planned_minutes", "release")
CLEARABLE = frozenset({"responsible_id", "owner_id", "department", "planned_date", "planned_minutes", "release"})


@get("/tickets/{ticket_id:str}")
async def ticket_page(request: Request[Any, Any, Any], ticket_id: str, user: User, api: Api,
                      after: str | None = None) -> Template:
    """The ticket as the viewer may see it; ``after`` (a command's position) waits for the read model to show it."""
    position = int(after) if after and after.isdigit() else None
    live = request.headers.get("hx-target") == "ticket-live"
    # the releases and the policies' zones do not depend on the ticket: read them beside it, not after it
    releases = asyncio.ensure_future(_quiet(api.read_intake_kept(user.id, user.token, "/v1/releases", seconds=5))) \
        if user.agent and not live else None
    zones = asyncio.ensure_future(policy_zones(api, user))
    try:
        ticket, history = await _ticket_and_history(api, user, ticket_id, position)
        zone = views.zone_of(ticket, await zones)
    except BaseException:
        for beside in (releases, zones):
            if beside:
                beside.cancel()
        raise
    locale = language(request)
    _ = i18n.translations(locale).gettext
    page = {
        "ticket": ticket, "thread": views.thread(ticket, user.staff), "zone": zone,
        "opening_files": views.opening_files(ticket),
        "deadlines": [words.deadline(t, zone, locale, _, user.staff) for t in views.open_targets(ticket)
                      if user.staff or t.get("kind") in words.CUSTOMER_TARGETS or t.get("kind") == "resolution"],
        "actions": ticket.get("allowed_actions", []), "timeline": views.timeline(history, zone, locale, user.id, _),
        "created": words.instant(ticket.get("created_at"), zone, locale),
    }
    if user.agent:
        page.update(await _workspace(api, user, ticket, locale, releases))
    return render(request, "_ticket_live.html" if live else "ticket.html", user=user, live=live, **page)


async def _workspace(api: Api, user: User, ticket: dict[str, Any], locale: str,
                     releases_read: Awaitable[dict[str, Any] | None] | None) -> dict[str, Any]:
    """What an agent's forms offer: the policy's deferral reasons and the ticket's details form (its
    catalogue), and, on the whole page (``releases_read`` given), the releases a ticket can be promised for."""
    full = releases_read is not None
    wanted = full or "defer" in ticket.get("allowed_actions", [])
    catalogue_read = _quiet(api.read_intake_kept(user.id, user.token, "/v1/catalogue",
                                                 {"customer_id": ticket.get("customer_id")}, seconds=30)) \
        if wanted and ticket.get("customer_id") else _none()
    catalogue, releases = await asyncio.gather(catalogue_read, releases_read or _none())
    catalogue = catalogue or {}
    return {
        "deferral_reasons": [(r["code"], request_form.label(r.get("label"), locale))
                             for r in catalogue.get("deferral_reasons", [])],
        "detail_fields": request_form.detail_fields(catalogue, ticket.get("category"), ticket.get("channel"), locale)
        if catalogue else [],
        "releases": [(r["id"], f"{r['name']} ({r['date']})") for r in (releases or {}).get("items", [])],
    }


async def _quiet(read: Any) -> dict[str, Any] | None:
    """A read the page can do without: a refusal other than a dead session leaves that form out."""
    try:
        return await read
    except ApiError as error:
        if error.unauthorized:
            raise
        return None


async def _none() -> None:
    return None


async def _ticket_and_history(api: Api, user: User, ticket_id: str, position: int | None
                              ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The ticket and (for staff) its history: side by side, or, after a command, the history once the
    ticket has waited for its position (so the timeline shows what was just done)."""
    ticket_read = api.read(user.token, f"/v1/tickets/{ticket_id}", position=position)
    if not user.staff:
        return await ticket_read, []
    history_read = api.read(user.token, f"/v1/tickets/{ticket_id}/history")
    if position is not None:
        ticket = await ticket_read
        return ticket, (await history_read).get("items", [])
    ticket, history = await asyncio.gather(ticket_read, history_read)
    return ticket, history.get("items", [])


@post("/tickets/{ticket_id:str}/comments")
async def comment(request: Request[Any, Any, Any], ticket_id: str, user: User, api: Api) -> Response[Any]:
    """A reply (public, or internal for staff), with files through the attachment API when there are any."""
    form = await request.form()
    body = str(form.get("body", "")).strip()
    visibility = "internal" if user.staff and form.get("visibility") == "internal" else "public"
    files = [(f.filename, await f.read(), f.content_type or "application/octet-stream")
             for f in form.getall("file", []) if isinstance(f, UploadFile) and f.filename]
    if files:
        answer = await api.attach(user.token, ticket_id, files, body, visibility)
    else:
        answer = await api.command(user.token, f"/v1/tickets/{ticket_id}/comments",
                                   {"body": body, "visibility": visibility})
    return _back(ticket_id, answer)


@post("/tickets/{ticket_id:str}/actions/{action:str}")
async def act(request: Request[Any, Any, Any], ticket_id: str, action: str, user: User, api: Api) -> Response[Any]:
    """A workflow action the page offered; the API decides whether it is allowed now."""
    form = await request.form()
    body = {k: v for k in ("comment", "reason") if (v := str(form.get(k, "")).strip())}
    return _back(ticket_id, await api.command(user.token, f"/v1/tickets/{ticket_id}/actions/{action}", body))


@post("/tickets/{ticket_id:str}/triage")
async def triage(request: Request[Any, Any, Any], ticket_id: str, user: User, api: Api) -> Response[Any]:
    """Triage and planning (``PATCH /v1/tickets/{id}``): only the fields the form changed are sent."""
    form = await request.form()
    changes: dict[str, Any] = {}
    for name in TRIAGE:
        value, was = str(form.get(name, "")).strip(), str(form.get(f"was_{name}", "")).strip()
        if value != was and value:
            changes[name] = int(value) if name == "planned_minutes" and value.isdigit() else value
        elif value != was and name in CLEARABLE:
            changes[name] = None  # emptied: the ticket no longer has one
    if not changes:
        return Redirect(f"/tickets/{ticket_id}", status_code=303)
    return _back(ticket_id, await api.command(user.token, f"/v1/tickets/{ticket_id}", changes, method="PATCH"))


@post("/tickets/{ticket_id:str}/third-party")
async def third_party(request: Request[Any, Any, Any], ticket_id: str, user: User, api: Api) -> Response[Any]:
    """Whom the ticket waits on and why (END-5; the customer is told both), or, with ``clear``, no one."""
    form = await request.form()
    party, note = str(form.get("party", "")).strip(), str(form.get("note", "")).strip()
    value = None if form.get("clear") else {"party": party, **({"note": note} if note else {})}
    return _back(ticket_id, await api.command(user.token, f"/v1/tickets/{ticket_id}", {"third_party": value},
                                              method="PATCH"))


@post("/tickets/{ticket_id:str}/details")
async def details(request: Request[Any, Any, Any], ticket_id: str, user: User, api: Api) -> Response[Any]:
    """The details of the policy's form (``PATCH`` merges them; an emptied field is removed)."""
    form = await request.form()
    values = {k: str(v).strip() for k, v in form.items() if isinstance(v, str)}
    names = [k for k in values if k.startswith(request_form.DETAIL)]
    fields = [{"name": k, "type": values.get(f"type_{k}", "text")} for k in names]
    given = request_form.details_of(values, fields)
    changes = {k[len(request_form.DETAIL):]: given.get(k[len(request_form.DETAIL):]) for k in names
               if values[k] != values.get(f"was_{k}", "")}
    if not changes:
        return Redirect(f"/tickets/{ticket_id}", status_code=303)
    return _back(ticket_id, await api.command(user.token, f"/v1/tickets/{ticket_id}", {"details": changes},
                                              method="PATCH"))


@post("/tickets/{ticket_id:str}/time")
async def log_time(request: Request[Any, Any, Any], ticket_id: str, user: User, api: Api) -> Response[Any]:
    """Time spent (``POST …/time-entries``); the billed minutes the policy charges show on the page."""
    form = await request.form()
    minutes = str(form.get("minutes", "")).strip()
    entry: dict[str, Any] = {"minutes": int(minutes) if minutes.lstrip("-").isdigit() else minutes,
                             "billable": form.get("billable") == "on"}
    if note := str(form.get("note", "")).strip():
        entry["note"] = note
    return _back(ticket_id, await api.command(user.token, f"/v1/tickets/{ticket_id}/time-entries", entry))


def _back(ticket_id: str, answer: dict[str, Any]) -> Response[Any]:
    return Redirect(f"/tickets/{ticket_id}?after={answer.get('position', '')}", status_code=303)


ROUTES = [ticket_page, comment, act, triage, third_party, details, log_time]

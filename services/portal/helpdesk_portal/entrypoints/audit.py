"""The auditor's pages (auditors and admins): find a ticket, its history with what each event changed and a
time slider showing the ticket as it stood, and the event log's export, streamed through from query."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get
from litestar.response import Redirect, Stream, Template

from helpdesk_portal import i18n
from helpdesk_portal.adapters.api import Api, ApiError, passed_on
from helpdesk_portal.adapters.zones import policy_zones
from helpdesk_portal.domain import audit, views, words
from helpdesk_portal.domain.session import User
from helpdesk_portal.entrypoints.web import language, render

AUDITORS = frozenset({"auditor", "admin"})
FORMATS = {"ndjson": "application/x-ndjson", "csv": "text/csv"}
RANGE = ("from_position", "to_position", "from", "to")


def _auditor(user: User) -> None:
    """Only auditors and admins read any ticket's history and the log (the APIs decide it again)."""
    if user.role not in AUDITORS:
        raise ApiError(403, "forbidden", "auditors and admins only")


@get("/audit")
async def find(request: Request[Any, Any, Any], user: User, api: Api, q: str = "") -> Response[Any]:
    """A ticket by its number or id: found, its history; else the form again, saying so."""
    _auditor(user)
    wanted = q.strip()
    if wanted:
        found = await api.read(user.token, "/v1/tickets", params={"number": wanted, "limit": 1})
        ids = [t["id"] for t in found.get("items", [])]
        if not ids:
            try:
                ids = [(await api.read(user.token, f"/v1/tickets/{quote(wanted, safe='')}"))["id"]]
            except ApiError as error:
                if error.status not in (400, 404):
                    raise
        if ids:
            return Redirect(f"/audit/tickets/{quote(ids[0], safe='')}", status_code=303)
    _ = i18n.translations(language(request)).gettext
    messages = [{"kind": "error", "text": _("No ticket has this number or id."), "detail": wanted}] if wanted else []
    return render(request, "audit.html", user=user, q=wanted, messages=messages)


@get("/audit/tickets/{ticket_id:str}")
async def history(request: Request[Any, Any, Any], ticket_id: str, user: User, api: Api,
                  at: str | None = None) -> Template:
    """The ticket's timeline and, at the slider's stop ``at`` (an index into its event times; the last by
    default), the ticket as it stood then; htmx asks only for the slider and that state."""
    _auditor(user)
    path = f"/v1/tickets/{quote(ticket_id, safe='')}"
    events = (await api.read(user.token, path + "/history")).get("items", [])
    stops = audit.instants(events)
    index = audit.stop(stops, at)
    then = await api.read(user.token, path, params={"as_of": stops[index]}) if stops else {}
    locale = language(request)
    _ = i18n.translations(locale).gettext
    zone = views.zone_of(then, await policy_zones(api, user))
    page = {"ticket_id": ticket_id, "then": then, "stops": stops, "index": index, "zone": zone,
            "moment": words.instant(stops[index], zone, locale, seconds=True) if stops else "",
            "timeline": audit.timeline(events, zone, locale, user.id, _, index)}
    fragment = request.headers.get("hx-target") == "audit-state"
    return render(request, "_audit_state.html" if fragment else "audit_ticket.html", user=user, **page)


@get("/audit/export")
async def export_form(request: Request[Any, Any, Any], user: User) -> Template:
    """The range form of the event-log export."""
    _auditor(user)
    return render(request, "audit_export.html", user=user)


@get("/audit/export/download")
async def download(request: Request[Any, Any, Any], user: User, api: Api, format: str = "ndjson") -> Stream:
    """The range of the log from query, passed on as it arrives (never held whole in the portal)."""
    _auditor(user)
    params = {k: v for k in RANGE if (v := request.query_params.get(k, "").strip())}
    upstream = await api.open_stream(user.token, "/v1/events/export", params, FORMATS.get(format, FORMATS["ndjson"]))
    headers = {k: upstream.headers[k] for k in ("content-type", "content-disposition") if k in upstream.headers}
    return Stream(passed_on(upstream), media_type=headers.get("content-type"), headers=headers)


ROUTES = [find, history, export_form, download]

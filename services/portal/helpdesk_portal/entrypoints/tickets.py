"""Lists and new requests: a customer's organisation's requests, the agents' work queue, filing a request."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Redirect, Template

from helpdesk_portal import i18n
from helpdesk_portal.adapters.api import Api, ApiError
from helpdesk_portal.adapters.zones import policy_zones
from helpdesk_portal.domain import request_form, views, words
from helpdesk_portal.domain.session import User
from helpdesk_portal.entrypoints.web import explain, language, render

FILTERS = ("status", "priority", "category", "customer_id", "assignee_id", "sla_state", "q", "cursor")


@get("/", sync_to_thread=False)
def home() -> Redirect:
    return Redirect("/tickets", status_code=303)


@get("/tickets")
async def ticket_list(request: Request[Any, Any, Any], user: User, api: Api) -> Template:
    """Staff: the work queue (``order=queue``) with its filters in the URL; a customer: its requests, newest activity first."""
    chosen = {k: v for k in FILTERS if (v := request.query_params.get(k, "").strip())}
    params = {**chosen, "order": "queue" if user.staff else "-updated",
              "limit": request.app.state.settings.portal_page_size}
    page, zones = await asyncio.gather(api.read(user.token, "/v1/tickets", params=params), policy_zones(api, user))
    locale = language(request)
    _ = i18n.translations(locale).gettext
    rows = [views.row(t, user.staff, zones, locale, _) for t in page.get("items", [])]
    kept = {k: v for k, v in chosen.items() if k != "cursor"}
    if request.headers.get("hx-target") == "ticket-rows":
        return render(request, "_ticket_rows.html", user=user, rows=rows, filters=kept)
    return render(request, "tickets.html", user=user, rows=rows, filters=kept, next_cursor=page.get("next_cursor"),
                  stream_position=page.get("stream_position"),
                  hours=None if user.staff or chosen.get("cursor") else await _norm_hours(api, user, _))


async def _norm_hours(api: Api, user: User, _: Any) -> dict[str, Any] | None:
    """This month's norm-hours of the customer where the contract has a budget (MED-12), in words; else None."""
    try:
        report = await api.read(user.token, "/v1/reports/hours")
    except ApiError as error:
        if error.unauthorized:
            raise
        return None  # the list serves without the report
    row = next((r for r in report.get("items", []) if r.get("budget_minutes") is not None), None)
    if row is None:
        return None
    shown = {k: words.duration(int(row.get(f"{k}_minutes") or 0) * 60, _)
             for k in ("budget", "planned", "used", "remaining")}
    return {**shown, "month": report.get("month") or row.get("month", ""), "over": (row.get("remaining_minutes") or 0) < 0}


@get("/tickets/new")
async def new_ticket(request: Request[Any, Any, Any], user: User, api: Api, customer_id: str = "") -> Template:
    """The form the customer's policy offers; an agent registering a call first picks the customer."""
    chosen = customer_id if user.staff else ""
    return await _form_page(request, user, api, {"customer_id": chosen} if chosen else {})


@get("/tickets/new/details")
async def new_ticket_details(request: Request[Any, Any, Any], user: User, api: Api, category: str = "",
                             customer_id: str = "") -> Template:
    """The details fragment for the chosen category (htmx swaps it in when the category changes)."""
    catalogue = await _catalogue(api, user, customer_id)
    fields = request_form.detail_fields(catalogue, category, request_form.channel_for(catalogue, user.staff),
                                        language(request)) if catalogue else []
    return render(request, "_details.html", fields=fields, form={}, errors={})


@post("/tickets")
async def file_ticket(request: Request[Any, Any, Any], user: User, api: Api) -> Response[Any]:
    """Open a request (a customer for its own organisation; an agent a phone call, naming customer and requester)
    with the details its form asks for, then attach its files; the ticket page waits for the read model to show it."""
    form = await request.form()
    values = {k: str(v).strip() for k, v in form.items() if isinstance(v, str)}
    catalogue = await _catalogue(api, user, values.get("customer_id", ""))
    channel = values.get("channel") if user.staff and values.get("channel") else \
        request_form.channel_for(catalogue or {}, user.staff)
    fields = request_form.detail_fields(catalogue, values.get("category"), channel, language(request)) \
        if catalogue else []
    body: dict[str, Any] = {k: v for k in ("subject", "description", "category", "priority", "service",
                                           "customer_id", "requester_id")
                            if (v := values.get(k, "")) or k in ("subject", "description")}
    body["channel"] = channel
    if details := request_form.details_of(values, fields):
        body["details"] = details
    try:
        opened = await api.command(user.token, "/v1/tickets", body)
        files = [await _file(f) for f in form.getall("file", []) if isinstance(f, UploadFile) and f.filename]
        position = opened.get("position")
        if files:
            position = (await api.attach(user.token, opened["id"], files)).get("position", position)
    except ApiError as error:
        if error.unauthorized or error.status >= 500:
            raise
        errors = {e.get("field"): e.get("message") for e in error.errors if isinstance(e, dict)}
        return await _form_page(request, user, api, values, messages=[explain(request, error)], errors=errors)
    return Redirect(f"/tickets/{opened['id']}?after={position or ''}", status_code=303)


async def _form_page(request: Request[Any, Any, Any], user: User, api: Api, form: dict[str, str],
                     **context: Any) -> Template:
    """The new-request page: the catalogue's services, the details of the chosen category, the policy's
    priorities (and, for staff, channels, customers and the customer's users)."""
    locale, _ = language(request), i18n.translations(language(request)).gettext
    customer_id = form.get("customer_id", "")
    catalogue = await _catalogue(api, user, customer_id)
    page: dict[str, Any] = {"customers": await _customers(api, user), "requesters": [], "catalogue": catalogue}
    if catalogue:
        channel = form.get("channel") or request_form.channel_for(catalogue, user.staff)
        page.update(groups=request_form.service_groups(catalogue, locale, _), channel=channel,
                    fields=request_form.detail_fields(catalogue, form.get("category"), channel, locale),
                    priorities=[(p, _(words.PRIORITIES.get(p, p))) for p in catalogue.get("priorities", [])],
                    channels=[(c, _(words.CHANNELS.get(c, c))) for c in catalogue.get("channels", [])])
        if user.staff:
            page["requesters"] = await _requesters(api, user, customer_id)
    return render(request, "new_ticket.html", user=user, form=form, **page, **context)


async def _catalogue(api: Api, user: User, customer_id: str) -> dict[str, Any] | None:
    """What the customer's policy offers (``GET /v1/catalogue``); for staff, once a customer is chosen."""
    if user.staff and not customer_id:
        return None
    try:
        return await api.read_intake(user.token, "/v1/catalogue", {"customer_id": customer_id} if user.staff else None)
    except ApiError as error:
        if error.unauthorized or error.status >= 500:
            raise
        return None


async def _requesters(api: Api, user: User, customer_id: str) -> list[dict[str, Any]]:
    """The customer's users, one of whom called (TEL-7: staff name the requester)."""
    try:
        found = await api.read_intake(user.token, f"/v1/customers/{customer_id}/users", {"limit": 200})
    except ApiError:
        return []
    return [u for u in found.get("items", []) if u.get("active", True) and not u.get("blocked")]


async def _file(upload: UploadFile) -> tuple[str, bytes, str]:
    return upload.filename, await upload.read(), upload.content_type or "application/octet-stream"


async def _customers(api: Api, user: User) -> list[dict[str, Any]]:
    """The customers an agent may register a call for (the directory), or none to pick from when it cannot be read."""
    if not user.staff:
        return []
    try:
        return (await api.read_intake(user.token, "/v1/customers")).get("items", [])
    except ApiError:
        return []


@get("/tickets/{ticket_id:str}/attachments/{attachment_id:str}")
async def download(ticket_id: str, attachment_id: str, user: User, api: Api) -> Response[bytes]:
    """A file of the ticket, fetched from query with the user's token (the same rules as the API)."""
    found = await api.download(user.token, f"/v1/tickets/{ticket_id}/attachments/{attachment_id}")
    keep = {k: v for k, v in found.headers.items() if k.lower() in {"content-type", "content-disposition"}}
    return Response(found.content, headers=keep)


ROUTES = [home, ticket_list, new_ticket, new_ticket_details, file_ticket, download]

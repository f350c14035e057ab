"""Lists and new requests: a customer's organisation's requests, the agents' work queue, filing a request."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Redirect, Template

from helpdesk_portal import i18n
from helpdesk_portal.adapters.api import Api, ApiError
from helpdesk_portal.domain import views
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
    page = await api.read(user.token, "/v1/tickets", params=params)
    locale = language(request)
    _ = i18n.translations(locale).gettext
    rows = [views.row(t, user.staff, request.app.state.zones, locale, _) for t in page.get("items", [])]
    kept = {k: v for k, v in chosen.items() if k != "cursor"}
    template = "_ticket_rows.html" if request.headers.get("hx-target") == "ticket-rows" else "tickets.html"
    return render(request, template, user=user, rows=rows, filters=kept, next_cursor=page.get("next_cursor"))


@get("/tickets/new")
async def new_ticket(request: Request[Any, Any, Any], user: User, api: Api) -> Template:
    return render(request, "new_ticket.html", user=user, form={}, customers=await _customers(api, user))


@post("/tickets")
async def file_ticket(request: Request[Any, Any, Any], user: User, api: Api) -> Response[Any]:
    """Open a request (a customer for its own organisation; an agent a phone call, naming customer and requester),
    then attach its files; the ticket page waits for the read model to show it."""
    form = await request.form()
    fields = {k: str(form.get(k, "")).strip() for k in
              ("subject", "description", "category", "priority", "customer_id", "requester_id")}
    body: dict[str, Any] = {k: v for k, v in fields.items() if v or k in ("subject", "description")}
    body["channel"] = "phone" if user.staff else "portal"
    try:
        opened = await _open(api, user, body)
        files = [await _file(f) for f in form.getall("file", []) if isinstance(f, UploadFile) and f.filename]
        position = opened.get("position")
        if files:
            position = (await api.attach(user.token, opened["id"], files)).get("position", position)
    except ApiError as error:
        if error.unauthorized or error.status >= 500:
            raise
        return render(request, "new_ticket.html", status_code=200, user=user, form=fields,
                      customers=await _customers(api, user), messages=[explain(request, error)],
                      errors={e.get("field"): e.get("message") for e in error.errors if isinstance(e, dict)})
    return Redirect(f"/tickets/{opened['id']}?after={position or ''}", status_code=303)


async def _open(api: Api, user: User, body: dict[str, Any]) -> dict[str, Any]:
    """File on the portal channel; a policy that registers no portal requests (TelemedHelp) takes them as chat."""
    try:
        return await api.command(user.token, "/v1/tickets", body)
    except ApiError as error:
        if error.code != "channel_closed" or body["channel"] != "portal":
            raise
        return await api.command(user.token, "/v1/tickets", {**body, "channel": "chat"})


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


ROUTES = [home, ticket_list, new_ticket, file_ticket, download]

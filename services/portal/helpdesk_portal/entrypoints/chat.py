"""The live chat (TEL-5): a customer opens a chat — a ticket on the ``chat`` channel whose first message is
its description — and both sides see the thread change live (query's stream, relayed by ``/live``); the
agents' open chats in a panel beside the queue. Every change is a command on intake, as on any ticket."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template

from helpdesk_portal import i18n
from helpdesk_portal.adapters.api import Api, ApiError
from helpdesk_portal.adapters.zones import policy_zones
from helpdesk_portal.domain import chat, request_form, views, words
from helpdesk_portal.domain.session import User
from helpdesk_portal.entrypoints.web import explain, language, now, render

PANEL_SIZE = 20


@get("/chats/new")
async def new_chat(request: Request[Any, Any, Any], user: User, api: Api) -> Template:
    """Start a chat: the first message and the details the policy asks of a chat (TEL-7)."""
    return await _start_page(request, user, api, {})


@post("/chats")
async def open_chat(request: Request[Any, Any, Any], user: User, api: Api) -> Response[Any]:
    """Open the chat with its first message (TEL-3's reaction runs from it), then show the chat."""
    form = await request.form()
    values = {k: str(v).strip() for k, v in form.items() if isinstance(v, str)}
    catalogue = await _catalogue(api, user)
    fields = request_form.detail_fields(catalogue, None, chat.CHANNEL, language(request))
    _ = i18n.translations(language(request)).gettext
    message = values.get("message", "")
    body: dict[str, Any] = {"subject": chat.subject_of(message, _("Chat")), "description": message,
                            "channel": chat.CHANNEL}
    if details := request_form.details_of(values, fields):
        body["details"] = details
    try:
        opened = await api.command(user.token, "/v1/tickets", body)
    except ApiError as error:
        if error.unauthorized or error.status >= 500:
            raise
        errors = {"message" if e.get("field") in ("description", "subject") else e.get("field"): e.get("message")
                  for e in error.errors if isinstance(e, dict)}
        return await _start_page(request, user, api, values, messages=[explain(request, error)], errors=errors)
    return Redirect(f"/chats/{opened['id']}?after={opened.get('position') or ''}", status_code=303)


async def _start_page(request: Request[Any, Any, Any], user: User, api: Api, form: dict[str, str],
                      **context: Any) -> Template:
    if user.staff:
        raise NotFoundException()  # staff answer chats; customers open them
    catalogue = await _catalogue(api, user)
    offered = chat.CHANNEL in catalogue.get("channels", [])
    fields = request_form.detail_fields(catalogue, None, chat.CHANNEL, language(request)) if offered else []
    return render(request, "chat_new.html", user=user, form=form, offered=offered, fields=fields, **context)


async def _catalogue(api: Api, user: User) -> dict[str, Any]:
    return await api.read_intake_kept(user.id, user.token, "/v1/catalogue", seconds=30)


@get("/chats/panel")
async def panel(request: Request[Any, Any, Any], user: User, api: Api) -> Template:
    """The agents' open chats, in the queue's order (CONTRACT §4), as the fragment the queue page shows."""
    if not user.agent:
        raise NotFoundException()
    found = await api.read(user.token, "/v1/tickets", params={
        "channel": chat.CHANNEL, "status": list(chat.OPEN), "order": "queue", "limit": PANEL_SIZE})
    locale = language(request)
    _ = i18n.translations(locale).gettext
    zones = await policy_zones(api, user)
    rows = [chat.panel_row(t, user.id, zones, locale, _) for t in found.get("items", [])]
    return render(request, "_chat_panel.html", user=user, chats=rows, more=bool(found.get("next_cursor")))


@get("/chats/{ticket_id:str}")
async def chat_page(request: Request[Any, Any, Any], ticket_id: str, user: User, api: Api,
                    after: str | None = None) -> Response[Any]:
    """The chat: its messages, when an answer can be expected, the actions the API allows; ``after`` (a
    command's position) waits for the read model to show it. htmx's live refresh gets the thread only."""
    ticket = await api.read(user.token, f"/v1/tickets/{ticket_id}",
                            position=int(after) if after and after.isdigit() else None)
    if ticket.get("channel") != chat.CHANNEL:
        return Redirect(f"/tickets/{ticket_id}", status_code=303)
    live = request.headers.get("hx-target") == "chat-live"
    return render(request, "_chat_live.html" if live else "chat.html", **await _page(request, user, api, ticket))


async def _page(request: Request[Any, Any, Any], user: User, api: Api, ticket: dict[str, Any]) -> dict[str, Any]:
    locale = language(request)
    _ = i18n.translations(locale).gettext
    zone = views.zone_of(ticket, await policy_zones(api, user))
    return {"user": user, "ticket": ticket, "actions": ticket.get("allowed_actions", []),
            "chat_messages": chat.messages(ticket, user.id, user.staff, zone, locale, _),
            "expect": chat.expectation(ticket, now(request), zone, locale, _),
            "owner": chat.owner(ticket, user.id, _) if user.staff else "",
            "open": ticket.get("status") in chat.OPEN, "created": words.instant(ticket.get("created_at"), zone, locale)}


@post("/chats/{ticket_id:str}/messages")
async def send(request: Request[Any, Any, Any], ticket_id: str, user: User, api: Api) -> Response[Any]:
    """A message (a public comment; an agent's first one takes the chat, TEL-5). htmx gets the thread and an
    empty message box back; without script the page reloads."""
    form = await request.form()
    answer = await api.command(user.token, f"/v1/tickets/{ticket_id}/comments",
                               {"body": str(form.get("message", "")).strip(), "visibility": "public"})
    if not request.headers.get("hx-request"):
        return Redirect(f"/chats/{ticket_id}?after={answer.get('position', '')}", status_code=303)
    ticket = await api.read(user.token, f"/v1/tickets/{ticket_id}", position=answer.get("position"))
    return render(request, "_chat_body.html", focus=True, **await _page(request, user, api, ticket))


@post("/chats/{ticket_id:str}/actions/{action:str}")
async def chat_action(request: Request[Any, Any, Any], ticket_id: str, action: str, user: User,
                      api: Api) -> Response[Any]:
    """A workflow action the chat offered (a solution, its acceptance…); the API decides whether it is allowed."""
    form = await request.form()
    body = {k: v for k in ("comment", "reason") if (v := str(form.get(k, "")).strip())}
    answer = await api.command(user.token, f"/v1/tickets/{ticket_id}/actions/{action}", body)
    return Redirect(f"/chats/{ticket_id}?after={answer.get('position', '')}", status_code=303)


ROUTES = [new_chat, open_chat, panel, chat_page, send, chat_action]

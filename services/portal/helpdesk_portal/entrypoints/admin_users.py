"""A user for admins: correct contacts and language, block and unblock (MED-4), deactivate and reactivate
(IMC-2), set a password. Blocking and deactivating ask for an explicit confirmation first; after any change
a customer's user's page is their customer's, where the change shows in the history."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Template

from helpdesk_portal.adapters.api import Api
from helpdesk_portal.domain import directory
from helpdesk_portal.domain.session import User
from helpdesk_portal.entrypoints.admin import (EXCEPTION_HANDLERS, admin_only, attempt, confirm, done, gettext_of,
                                               messages_for)
from helpdesk_portal.entrypoints.web import render

# action → (the PATCH body, the confirmation code, whether it ends the user's sessions and so is confirmed)
STANDING = {
    "block": ({"blocked": True}, "user_blocked", True),
    "unblock": ({"blocked": False}, "user_unblocked", False),
    "deactivate": ({"active": False}, "user_deactivated", True),
    "reactivate": ({"active": True}, "user_reactivated", False),
}


@get("/users/{user_id:str}")
async def user_page(request: Request[Any, Any, Any], user_id: str, user: User, api: Api) -> Template:
    """The user, the forms that change them, and the buttons for their standing."""
    return await _page(request, user, api, user_id, messages_for(request), {})


async def _page(request: Request[Any, Any, Any], user: User, api: Api, user_id: str,
                messages: list[dict[str, str]], errors: dict[str, str]) -> Template:
    found = await api.read_intake(user.token, f"/v1/users/{user_id}")
    return render(request, "admin_user.html", user=user, person=found, messages=messages, errors=errors,
                  state=directory.state(found, gettext_of(request)), languages=directory.LANGUAGE_OPTIONS)


@post("/users/{user_id:str}")
async def change_user(request: Request[Any, Any, Any], user_id: str, user: User, api: Api) -> Response[Any]:
    """``PATCH /v1/users/{id}`` with the contacts and language the form changed."""
    form = dict(await request.form())
    found = await api.read_intake(user.token, f"/v1/users/{user_id}")
    changes = directory.user_changes(found, form)
    if not changes:
        return done(_after(found), "user_changed")
    _, refused = await attempt(request, api.command(user.token, f"/v1/users/{user_id}", changes, method="PATCH"),
                               lambda m, e: _page(request, user, api, user_id, m, e))
    return refused or done(_after(found), "user_changed")


@post("/users/{user_id:str}/{action:str}")
async def change_standing(request: Request[Any, Any, Any], user_id: str, action: str, user: User,
                          api: Api) -> Response[Any]:
    """Block, unblock, deactivate or reactivate; block and deactivate only once confirmed."""
    form = dict(await request.form())
    if action == "password":
        return await _set_password(request, user, api, user_id, form)
    if action not in STANDING:
        raise NotFoundException()
    body, code, destructive = STANDING[action]
    found = await api.read_intake(user.token, f"/v1/users/{user_id}")
    reason = directory.text(form, "reason")
    if destructive and form.get("confirmed") != "1":
        gettext = gettext_of(request)
        question = (gettext("Block %(name)s? Their open sessions end now.") if action == "block"
                    else gettext("Deactivate %(name)s? Their open sessions end now."))
        return confirm(request, question % {"name": found.get("name", "")}, f"/admin/users/{user_id}/{action}",
                       {"reason": reason} if action == "block" else {},
                       gettext("Block") if action == "block" else gettext("Deactivate"), f"/admin/users/{user_id}")
    if reason and action == "block":
        body = {**body, "reason": reason}
    _, refused = await attempt(request, api.command(user.token, f"/v1/users/{user_id}", body, method="PATCH"),
                               lambda m, e: _page(request, user, api, user_id, m, e))
    return refused or done(_after(found), code)


async def _set_password(request: Request[Any, Any, Any], user: User, api: Api, user_id: str,
                        form: dict[str, Any]) -> Response[Any]:
    """``POST /v1/users/{id}/password``: the user's every session ends."""
    found = await api.read_intake(user.token, f"/v1/users/{user_id}")
    _, refused = await attempt(request, api.command(user.token, f"/v1/users/{user_id}/password",
                                                    {"password": str(form.get("password", ""))}),
                               lambda m, e: _page(request, user, api, user_id, m, e))
    return refused or done(_after(found), "password_set")


def _after(found: dict[str, Any]) -> str:
    """Where a change to the user is confirmed: their customer's page (with its history), or theirs."""
    customer_id = found.get("customer_id")
    return f"/admin/customers/{customer_id}" if customer_id else f"/admin/users/{found.get('id')}"


ROUTER = Router(path="/admin", guards=[admin_only], exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
                route_handlers=[user_page, change_user, change_standing])

"""What the admins' pages share: the guard that shows anyone else a refusal in words, the explicit
confirmation a destructive change asks for, and the message a page shows after a change.

The guard only chooses what to show: the APIs decide (the portal holds no privilege), so a page an
admin may open still shows intake's refusal if the token no longer carries the role.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Redirect, Template

from helpdesk_portal import i18n
from helpdesk_portal.adapters.api import ApiError
from helpdesk_portal.domain import directory
from helpdesk_portal.entrypoints.web import current_user, explain, language, render


class NotAdmin(Exception):
    """The signed-in user is not an administrator: the admins' pages are not theirs."""


def admin_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """litestar guard of the admins' routers (a session that has ended goes to the login page first)."""
    if current_user(connection).role != "admin":  # type: ignore[arg-type]
        raise NotAdmin()


def not_admin(request: Request[Any, Any, Any], _: NotAdmin) -> Response[Any]:
    """The portal's refusal page: 403, in words."""
    gettext = i18n.translations(language(request)).gettext
    return render(request, "error.html", status_code=403, messages=[
        {"kind": "error", "text": gettext("This page is for administrators."), "detail": ""}])


EXCEPTION_HANDLERS = {NotAdmin: not_admin}


def gettext_of(request: Request[Any, Any, Any]) -> Callable[[str], str]:
    return i18n.translations(language(request)).gettext


def done(target: str, code: str) -> Redirect:
    """Back to the page after a change, which then confirms it (``?done=``)."""
    joiner = "&" if "?" in target else "?"
    return Redirect(f"{target}{joiner}done={code}", status_code=303)


def messages_for(request: Request[Any, Any, Any]) -> list[dict[str, str]]:
    return directory.done_message(request.query_params.get("done"), gettext_of(request))


def confirm(request: Request[Any, Any, Any], question: str, action: str, fields: Mapping[str, str],
            button: str, back: str) -> Template:
    """The explicit confirmation of a destructive change: the same form again, with ``confirmed``."""
    return render(request, "admin_confirm.html", user=current_user(request), question=question, action=action,
                  fields=fields, button=button, back=back)


async def attempt(request: Request[Any, Any, Any], change: Awaitable[Any],
                  page: Callable[[list[dict[str, str]], dict[str, str]], Awaitable[Template]]
                  ) -> tuple[Any, Template | None]:
    """Run an API call; a refusal (not a dead session, not an outage) comes back as ``page`` with the
    API's words and its fields' errors, so the form keeps what was typed."""
    try:
        return await change, None
    except ApiError as error:
        if error.unauthorized or error.status >= 500:
            raise
        errors = {str(e.get("field")).rsplit(".", 1)[-1]: str(e.get("message"))  # contract.active → active
                  for e in error.errors if isinstance(e, dict)}
        return None, await page([explain(request, error)], errors)

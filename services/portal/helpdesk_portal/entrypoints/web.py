"""The pieces every page shares: the session cookie, rendering in the user's language, messages for
API refusals, the security headers (a strict Content-Security-Policy: scripts only from the portal)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from litestar import Request, Response
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template
from litestar.types import Message, Scope

from helpdesk_portal import i18n
from helpdesk_portal.adapters.api import ApiError
from helpdesk_portal.domain import words
from helpdesk_portal.domain.session import NotSignedIn, User, user_from_token

SESSION = "helpdesk_session"
LOGIN = "helpdesk_login"
LANGUAGE = "helpdesk_lang"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def language(request: Request[Any, Any, Any]) -> str:
    return i18n.choose(request.cookies.get(LANGUAGE))


def current_user(request: Request[Any, Any, Any]) -> User:
    """The signed-in user (litestar dependency ``user``); ``NotSignedIn`` sends them to the login page."""
    return user_from_token(request.cookies.get(SESSION), time.time(), request.cookies.get(LOGIN, ""))


def now(request: Request[Any, Any, Any]) -> dt.datetime:
    """The portal's one clock (the shared test clock with ``HELPDESK_CLOCK=simulated``), never the wall's."""
    return request.app.state.clock.now()  # type: ignore[no-any-return]


def render(request: Request[Any, Any, Any], template: str, status_code: int = 200, **context: Any) -> Template:
    """A page (or, for htmx, the fragment) in the user's language, with the helpers templates use."""
    locale = language(request)
    catalogue = i18n.translations(locale)
    context.setdefault("messages", [])
    return Template(template_name=template, status_code=status_code, context={
        **context, "locale": locale, "gettext": catalogue.gettext, "ngettext": catalogue.ngettext,
        "_": catalogue.gettext, "words": words, "options": options(catalogue.gettext), "path": request.url.path,
        "query_string": request.url.query, "htmx": bool(request.headers.get("hx-request")),
    })


def options(gettext: Any) -> Any:
    """``options(words.STATUSES, blank)``: a select's (code, label) pairs in the page's language."""
    def pairs(mapping: dict[str, str], blank: str | None = None) -> list[tuple[str, str]]:
        return ([("", blank)] if blank is not None else []) + [(k, gettext(v)) for k, v in mapping.items()]
    return pairs


def session_cookies(token: str, login: str, max_age: int, secure: bool) -> list[Cookie]:
    return [Cookie(key=SESSION, value=token, max_age=max_age, httponly=True, secure=secure, samesite="lax"),
            Cookie(key=LOGIN, value=login, max_age=max_age, httponly=True, secure=secure, samesite="lax")]


def to_login(request: Request[Any, Any, Any], expired: bool) -> Response[Any]:
    """Back to the login page (the whole page, also from an htmx request), the dead session dropped."""
    target = "/login?expired=1" if expired else "/login"
    if request.headers.get("hx-request"):
        response: Response[Any] = Response(b"", status_code=200, headers={"HX-Redirect": target})
    else:
        response = Redirect(target, status_code=303)
    response.delete_cookie(SESSION)
    return response


def not_signed_in(request: Request[Any, Any, Any], _: NotSignedIn) -> Response[Any]:
    return to_login(request, expired=SESSION in request.cookies)


def api_refused(request: Request[Any, Any, Any], error: ApiError) -> Response[Any]:
    """An API's refusal as a message on the page, never a stack trace; a refused token means sign in again."""
    if error.unauthorized:
        return to_login(request, expired=True)
    message = explain(request, error)
    if request.headers.get("hx-request"):
        response = render(request, "_messages.html", messages=[message])
        response.headers.update({"HX-Retarget": "#messages", "HX-Reswap": "innerHTML"})
        return response
    status = error.status if 400 <= error.status < 600 else 502
    return render(request, "error.html", status_code=status, messages=[message])


def explain(request: Request[Any, Any, Any], error: ApiError) -> dict[str, str]:
    """A refusal in the user's language: what went wrong in general, and the API's detail."""
    _ = i18n.translations(language(request)).gettext
    general = {400: _("Please check the form."), 404: _("Not found."), 403: _("You may not do that."), 409: _("This cannot be done now."),
               412: _("Someone changed this meanwhile; look again."), 413: _("The files are too large."),
               422: _("Please check the form."), 429: _("Too many attempts; wait a moment."),
               503: _("The service desk is not answering; try again shortly.")}
    fields = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in error.errors if isinstance(e, dict))
    detail = fields or error.detail
    return {"kind": "error", "text": general.get(error.status, _("Something went wrong.")), "detail": detail}


def unexpected(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    """Anything else: a plain page saying so, logged, never the traceback."""
    request.logger.exception("portal error on %s", request.url.path)
    _ = i18n.translations(language(request)).gettext
    return render(request, "error.html", status_code=500,
                  messages=[{"kind": "error", "text": _("Something went wrong."), "detail": ""}])


async def page_headers(message: Message, scope: Scope) -> None:
    """litestar ``before_send``: the browser-facing security headers on every answer."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    headers.setdefault("content-security-policy", CSP)
    headers.setdefault("x-content-type-options", "nosniff")
    headers.setdefault("referrer-policy", "same-origin")
    headers.setdefault("x-frame-options", "DENY")
    if not str(scope.get("path", "")).startswith("/static/"):
        headers.setdefault("cache-control", "no-store")


def refused(request: Request[Any, Any, Any], error: HTTPException) -> Response[Any]:
    """The portal's own refusals (an unknown page, a form without its CSRF token…) as a page in words."""
    _ = i18n.translations(language(request)).gettext
    texts = {404: _("Not found."), 403: _("This form has expired; open the page again and resend it."),
             405: _("Not found.")}
    text = texts.get(error.status_code, _("Please check the form.") if error.status_code < 500 else _("Something went wrong."))
    return render(request, "error.html", status_code=error.status_code,
                  messages=[{"kind": "error", "text": text, "detail": ""}])


def back_to(request: Request[Any, Any, Any], fallback: str = "/") -> str:
    """Where a form came from, if it is one of the portal's own pages; never another site."""
    referer = request.headers.get("referer", "")
    origin = f"{request.url.scheme}://{request.url.netloc}"
    return referer[len(origin):] or fallback if referer.startswith(origin + "/") else fallback

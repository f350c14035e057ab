"""Signing in and out through intake (``POST /v1/auth/token``), the language switch, one's own password."""

from __future__ import annotations

import time
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from litestar.types import Message, Scope

from helpdesk_portal import i18n
from helpdesk_portal.adapters.api import Api, ApiError
from helpdesk_portal.domain.session import NotSignedIn, User, user_from_token
from helpdesk_portal.entrypoints.web import LANGUAGE, LOGIN, SESSION, back_to, explain, render, session_cookies

Form = Body(media_type=RequestEncodingType.URL_ENCODED)


@get("/login", sync_to_thread=False)
def login_page(request: Request[Any, Any, Any], expired: bool = False) -> Template:
    _ = i18n.translations(i18n.choose(request.cookies.get(LANGUAGE))).gettext
    notes = [{"kind": "info", "text": _("Your session has ended; please sign in again."), "detail": ""}] if expired else []
    return render(request, "login.html", messages=notes, login="")


@post("/login")
async def sign_in(request: Request[Any, Any, Any], data: Annotated[dict[str, str], Form], api: Api) -> Response[Any]:
    """Exchange login and password for a token at intake, kept in an HttpOnly cookie."""
    login = data.get("login", "").strip()
    try:
        answer = await api.sign_in(login, data.get("password", ""))
    except ApiError as error:
        if error.status >= 500:
            raise
        _ = i18n.translations(i18n.choose(request.cookies.get(LANGUAGE))).gettext
        text = _("Wrong login or password.") if error.status == 401 else explain(request, error)["text"]
        return render(request, "login.html", status_code=error.status if error.status != 401 else 200,
                      messages=[{"kind": "error", "text": text, "detail": "" if error.status == 401 else error.detail}],
                      login=login)
    settings = request.app.state.settings
    cookies = session_cookies(answer["access_token"], login, int(answer.get("expires_in", 3600)),
                              settings.portal_secure_cookies)
    chosen = await own_language(api, answer["access_token"])
    if chosen:
        cookies.append(language_cookie(chosen, settings.portal_secure_cookies))
    return Redirect("/", status_code=303, cookies=cookies)


async def own_language(api: Api, token: str) -> str | None:
    """The language the directory keeps for the user (else their customer's default), so the pages and the
    mail speak the same one; ``None`` when the directory has none or cannot be read (the cookie then decides)."""
    try:
        user = user_from_token(token, time.time())
        found = (await api.read_intake(token, f"/v1/users/{user.id}")).get("language")
        if not found and user.customer_id:
            found = (await api.read_intake(token, f"/v1/customers/{user.customer_id}")).get("language")
    except (ApiError, NotSignedIn):
        return None
    return found if found in i18n.LOCALES else None


def language_cookie(chosen: str, secure: bool) -> Cookie:
    return Cookie(key=LANGUAGE, value=chosen, max_age=365 * 86400, httponly=True, samesite="lax", secure=secure)


@post("/logout", sync_to_thread=False)
def sign_out() -> Response[Any]:
    response: Response[Any] = Redirect("/login", status_code=303)
    response.delete_cookie(SESSION)
    return response


@post("/language")
async def switch_language(request: Request[Any, Any, Any], data: Annotated[dict[str, str], Form],
                          api: Api) -> Response[Any]:
    """Russian or English, remembered in a cookie and, for a signed-in user, on the user in the directory
    (``PATCH /v1/users/{sub}``), so the desk's mail follows the same choice."""
    chosen = i18n.choose(data.get("language"))
    try:
        user = user_from_token(request.cookies.get(SESSION), time.time())
        await api.command(user.token, f"/v1/users/{user.id}", {"language": chosen}, method="PATCH")
    except NotSignedIn:
        pass  # the login page: the cookie alone, until the user signs in
    except ApiError as error:
        if error.unauthorized or error.status >= 500:
            raise
        request.logger.warning("language not saved on the user: %s", error)
    cookie = language_cookie(chosen, request.app.state.settings.portal_secure_cookies)
    return Redirect(back_to(request), status_code=303, cookies=[cookie])


@get("/account", sync_to_thread=False)
def account(request: Request[Any, Any, Any], user: User) -> Template:
    return render(request, "account.html", user=user)


@post("/account/password")
async def change_password(request: Request[Any, Any, Any], user: User, api: Api,
                          data: Annotated[dict[str, str], Form]) -> Template:
    """One's own password (``POST /v1/auth/password``); the API says whether the current one was right."""
    _ = i18n.translations(i18n.choose(request.cookies.get(LANGUAGE))).gettext
    try:
        answer = await api.command(user.token, "/v1/auth/password", {"current": data.get("current", ""),
                                                                     "new": data.get("new", "")})
    except ApiError as error:  # a wrong current password is a message, not the end of the session
        if error.unauthorized:
            raise
        return render(request, "account.html", user=user, messages=[explain(request, error)])
    page = render(request, "account.html", user=user,
                  messages=[{"kind": "info", "text": _("Your password has been changed."), "detail": ""}])
    # the old token is revoked with the old password: the session goes on with the one the answer carries
    for cookie in session_cookies(answer["access_token"], user.login, int(answer.get("expires_in", 3600)),
                                  request.app.state.settings.portal_secure_cookies):
        page.set_cookie(cookie)
    return page


def session_refresher(api: Api, before: int, secure: bool) -> Any:
    """litestar ``before_send``: renew a token that expires within ``before`` seconds (``POST /v1/auth/refresh``)
    and send the new one in the same answer, so an active user's session slides."""
    async def refresh(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start" or str(scope.get("path", "")).startswith("/static/"):
            return
        cookies = Request(scope).cookies
        try:
            user = user_from_token(cookies.get(SESSION), time.time(), cookies.get(LOGIN, ""))
        except NotSignedIn:
            return
        if user.expires_at - time.time() > before:
            return
        try:
            answer = await api.command(user.token, "/v1/auth/refresh", {})
        except ApiError:
            return  # the old token serves until it expires; then the user signs in again
        headers = MutableScopeHeaders.from_message(message)
        for cookie in session_cookies(answer["access_token"], user.login, int(answer.get("expires_in", 3600)), secure):
            headers.add("set-cookie", cookie.to_header(header=""))
    return refresh


ROUTES = [login_page, sign_in, sign_out, switch_language, account, change_password]

"""Releases for admins (IMC-9): plan one, re-date or rename it (which re-plans every ticket bound to it),
and see the tickets bound to each — promised for it, or with an SLA target due at its date (query's
``GET /v1/tickets?release_id=``)."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.response import Template

from helpdesk_portal.adapters.api import Api
from helpdesk_portal.adapters.zones import policy_zones
from helpdesk_portal.domain import directory, views
from helpdesk_portal.domain.session import User
from helpdesk_portal.entrypoints.admin import (EXCEPTION_HANDLERS, admin_only, attempt, done, gettext_of,
                                               messages_for)
from helpdesk_portal.entrypoints.web import language, render

BOUND_LIMIT = 200


@get("/releases")
async def releases(request: Request[Any, Any, Any], user: User, api: Api) -> Template:
    """Every release, soonest first, and the form that plans one."""
    return await _list_page(request, user, api, messages_for(request), {}, {})


async def _list_page(request: Request[Any, Any, Any], user: User, api: Api, messages: list[dict[str, str]],
                     errors: dict[str, str], form: dict[str, Any]) -> Template:
    found = await api.read_intake(user.token, "/v1/releases")
    return render(request, "admin_releases.html", user=user, releases=found.get("items", []),
                  kinds=directory.RELEASE_KINDS, messages=messages, errors=errors, form=form)


@post("/releases")
async def plan_release(request: Request[Any, Any, Any], user: User, api: Api) -> Response[Any]:
    """``POST /v1/releases {name, kind, date}``; a date in the past is the API's refusal, shown by field."""
    form = dict(await request.form())
    body = {k: directory.text(form, k) for k in ("name", "kind", "date")}
    made, refused = await attempt(request, api.command(user.token, "/v1/releases", body),
                                  lambda m, e: _list_page(request, user, api, m, e, form))
    return refused or done(f"/admin/releases/{made['id']}", "release_planned")


@get("/releases/{release_id:str}")
async def release(request: Request[Any, Any, Any], release_id: str, user: User, api: Api) -> Template:
    """The release, the form that re-dates it and the tickets bound to it."""
    return await _release_page(request, user, api, release_id, messages_for(request), {})


async def _release_page(request: Request[Any, Any, Any], user: User, api: Api, release_id: str,
                        messages: list[dict[str, str]], errors: dict[str, str]) -> Template:
    found, bound = await asyncio.gather(
        api.read_intake(user.token, f"/v1/releases/{release_id}"),
        api.read(user.token, "/v1/tickets", {"release_id": release_id, "limit": BOUND_LIMIT},
                 position=_position(request)))
    zones = await policy_zones(api, user)
    rows = [views.row(t, True, zones, language(request), gettext_of(request))
            for t in bound.get("items", [])]
    return render(request, "admin_release.html", user=user, release=found, rows=rows,
                  more=bound.get("next_cursor"), kinds=directory.RELEASE_KINDS, messages=messages, errors=errors)


@post("/releases/{release_id:str}")
async def change_release(request: Request[Any, Any, Any], release_id: str, user: User, api: Api) -> Response[Any]:
    """``PATCH /v1/releases/{id}`` with the date and name the form changed."""
    form = dict(await request.form())
    found = await api.read_intake(user.token, f"/v1/releases/{release_id}")
    changes = {k: v for k in ("name", "date") if (v := directory.text(form, k)) and v != found.get(k)}
    if not changes:
        return done(f"/admin/releases/{release_id}", "release_changed")
    answer, refused = await attempt(request, api.command(user.token, f"/v1/releases/{release_id}", changes,
                                                         method="PATCH"),
                                    lambda m, e: _release_page(request, user, api, release_id, m, e))
    return refused or done(f"/admin/releases/{release_id}?after={answer.get('position', '')}", "release_changed")


def _position(request: Request[Any, Any, Any]) -> int | None:
    """``after``: the position of the change just made, so the tickets show their re-planned deadlines."""
    after = request.query_params.get("after", "")
    return int(after) if after.isdigit() else None


ROUTER = Router(path="/admin", guards=[admin_only], exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
                route_handlers=[releases, plan_release, release, change_release])

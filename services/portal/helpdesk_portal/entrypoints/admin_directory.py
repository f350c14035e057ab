"""The directory for admins (CONTRACT §2): customers with their policy, contract and default language,
their users, the staff; a customer's page shows its history. Every change is a call on intake with the
admin's token and ends on a page that confirms it."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.response import Template

from helpdesk_portal.adapters.api import Api
from helpdesk_portal.adapters.zones import policy_zones
from helpdesk_portal.domain import directory, views
from helpdesk_portal.domain.session import User
from helpdesk_portal.entrypoints.admin import (EXCEPTION_HANDLERS, admin_only, attempt, confirm, done, gettext_of,
                                               messages_for)
from helpdesk_portal.entrypoints.web import language, render

HISTORY_LIMIT = 200


@get("/customers")
async def customers(request: Request[Any, Any, Any], user: User, api: Api, cursor: str | None = None) -> Template:
    """Every customer (paged as the API pages them) and the form that registers one."""
    return await _customers_page(request, user, api, cursor, messages_for(request), {}, {"active": "on"})


async def _customers_page(request: Request[Any, Any, Any], user: User, api: Api, cursor: str | None,
                          messages: list[dict[str, str]], errors: dict[str, str], form: dict[str, Any]) -> Template:
    found = await api.read_intake(user.token, "/v1/customers", {"limit": 50, **({"cursor": cursor} if cursor else {})})
    return render(request, "admin_customers.html", user=user, customers=found.get("items", []),
                  next_cursor=found.get("next_cursor"), policies=await _policies(api, user),
                  languages=directory.LANGUAGE_OPTIONS, language_names=directory.LANGUAGES, messages=messages,
                  errors=errors, form=form)


@post("/customers")
async def register_customer(request: Request[Any, Any, Any], user: User, api: Api) -> Response[Any]:
    """``POST /v1/customers``, then its default language (``PATCH``) when one is chosen."""
    form = dict(await request.form())
    made, refused = await attempt(request, api.command(user.token, "/v1/customers", directory.new_customer(form)),
                                  lambda m, e: _customers_page(request, user, api, None, m, e, form))
    if refused:
        return refused
    if chosen := directory.text(form, "language"):
        await api.command(user.token, f"/v1/customers/{made['id']}", {"language": chosen}, method="PATCH")
    return done(f"/admin/customers/{made['id']}", "customer_registered")


@get("/customers/{customer_id:str}")
async def customer(request: Request[Any, Any, Any], customer_id: str, user: User, api: Api) -> Template:
    """The customer, its contract form, its users and the form adding one, and its history."""
    return await _customer_page(request, user, api, customer_id, messages_for(request), {}, {})


async def _customer_page(request: Request[Any, Any, Any], user: User, api: Api, customer_id: str,
                         messages: list[dict[str, str]], errors: dict[str, str], form: dict[str, Any]) -> Template:
    found, users, history, staff = await asyncio.gather(
        api.read_intake(user.token, f"/v1/customers/{customer_id}"),
        api.read_intake(user.token, f"/v1/customers/{customer_id}/users", {"limit": 200}),
        api.read_intake(user.token, f"/v1/customers/{customer_id}/history", {"limit": HISTORY_LIMIT}),
        api.read_intake(user.token, "/v1/staff", {"limit": 200}))
    people = users.get("items", [])
    names = {p["id"]: p["name"] for p in [*people, *staff.get("items", [])]}
    zone = views.zone_of(found, await policy_zones(api, user))
    _ = gettext_of(request)
    return render(request, "admin_customer.html", user=user, customer=found, contract=found.get("contract") or {},
                  people=[{**p, "state": directory.state(p, _)} for p in people], policies=await _policies(api, user),
                  languages=directory.LANGUAGE_OPTIONS, messages=messages, errors=errors, form=form,
                  history=directory.history(history.get("items", []), names, zone, language(request), _),
                  more_history=history.get("next_cursor"))


@post("/customers/{customer_id:str}")
async def change_customer(request: Request[Any, Any, Any], customer_id: str, user: User, api: Api) -> Response[Any]:
    """``PATCH /v1/customers/{id}`` with what the form changed; ending the contract (which blocks the
    customer's users, MED-4) is confirmed first."""
    form = dict(await request.form())
    found = await api.read_intake(user.token, f"/v1/customers/{customer_id}")
    changes = directory.customer_changes(found, form)
    ending = (found.get("contract") or {}).get("active") and changes.get("contract", {}).get("active") is False
    if ending and form.get("confirmed") != "1":
        gettext = gettext_of(request)
        return confirm(request, gettext("End the contract of %(name)s? Its users can no longer sign in.") %
                       {"name": found.get("name", "")}, f"/admin/customers/{customer_id}",
                       {k: v for k, v in form.items() if isinstance(v, str) and k != "_csrf_token"},
                       gettext("End the contract"), f"/admin/customers/{customer_id}")
    if not changes:
        return done(f"/admin/customers/{customer_id}", "customer_changed")
    _, refused = await attempt(request, api.command(user.token, f"/v1/customers/{customer_id}", changes,
                                                    method="PATCH"),
                               lambda m, e: _customer_page(request, user, api, customer_id, m, e, {}))
    return refused or done(f"/admin/customers/{customer_id}", "customer_changed")


@post("/customers/{customer_id:str}/users")
async def register_user(request: Request[Any, Any, Any], customer_id: str, user: User, api: Api) -> Response[Any]:
    """``POST /v1/customers/{id}/users``: a user of the customer (role customer)."""
    form = dict(await request.form())
    _, refused = await attempt(request, api.command(user.token, f"/v1/customers/{customer_id}/users",
                                                    directory.new_user(form, staff=False)),
                               lambda m, e: _customer_page(request, user, api, customer_id, m, e, form))
    return refused or done(f"/admin/customers/{customer_id}", "user_registered")


@get("/staff")
async def staff(request: Request[Any, Any, Any], user: User, api: Api, cursor: str | None = None) -> Template:
    """Agents, admins and auditors, and the form that registers one."""
    return await _staff_page(request, user, api, cursor, messages_for(request), {}, {})


async def _staff_page(request: Request[Any, Any, Any], user: User, api: Api, cursor: str | None,
                      messages: list[dict[str, str]], errors: dict[str, str], form: dict[str, Any]) -> Template:
    found = await api.read_intake(user.token, "/v1/staff", {"limit": 50, **({"cursor": cursor} if cursor else {})})
    _ = gettext_of(request)
    return render(request, "admin_staff.html", user=user, next_cursor=found.get("next_cursor"),
                  people=[{**p, "state": directory.state(p, _)} for p in found.get("items", [])],
                  roles=directory.STAFF_ROLES, languages=directory.LANGUAGE_OPTIONS, messages=messages, errors=errors,
                  form=form)


@post("/staff")
async def register_staff(request: Request[Any, Any, Any], user: User, api: Api) -> Response[Any]:
    """``POST /v1/staff``: an agent, admin or auditor."""
    form = dict(await request.form())
    made, refused = await attempt(request, api.command(user.token, "/v1/staff", directory.new_user(form, staff=True)),
                                  lambda m, e: _staff_page(request, user, api, None, m, e, form))
    return refused or done(f"/admin/users/{made['id']}", "staff_registered")


async def _policies(api: Api, user: User) -> list[tuple[str, str]]:
    """The policies a customer can be given (the published ones), as a select's options."""
    return [("", "—"), *((p, p) for p in sorted(await policy_zones(api, user)))]


ROUTER = Router(path="/admin", guards=[admin_only], exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
                route_handlers=[customers, register_customer, customer, change_customer, register_user, staff,
                                register_staff])

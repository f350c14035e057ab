"""The dashboards (admins and auditors: every customer; a customer's user: its own, as query decides):
SLA compliance by week, the backlog by age, norm-hours against the budget. Each chart is drawn on the
server as SVG with its numbers in a table beside it and as CSV, streamed from query with the user's token."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from urllib.parse import urlencode
from typing import Any

from litestar import Request, get
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Stream, Template

from helpdesk_portal import i18n
from helpdesk_portal.adapters.api import Api, ApiError, passed_on
from helpdesk_portal.domain import dashboards
from helpdesk_portal.domain.session import User
from helpdesk_portal.entrypoints.web import current_user, language, now, render

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
PAGES = ("sla", "backlog", "hours")
READERS = frozenset({"admin", "auditor", "customer"})  # CONTRACT §9: agents work the queue, not the reports


def readers_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """litestar guard: an agent is refused (403) as on any page not theirs; the API decides the rest."""
    if current_user(connection).role not in READERS:  # type: ignore[arg-type]
        raise ApiError(403, "forbidden", "the dashboards are for admins, auditors and customers' users")


@get("/dashboards", sync_to_thread=False, guards=[readers_only])
def dashboards_home() -> Redirect:
    return Redirect("/dashboards/sla", status_code=303)


@get("/dashboards/sla", guards=[readers_only])
async def sla_page(request: Request[Any, Any, Any], user: User, api: Api) -> Template:
    """Met and breached targets per week of the period (default: the last 12 weeks), by a dimension."""
    params, weeks, chosen = _sla_choice(request, user)
    report, names = await asyncio.gather(api.read(user.token, "/v1/reports/sla", params=params), _names(api, user))
    locale = language(request)
    charts, table = dashboards.sla(report, weeks, chosen["by"], names, locale, i18n.translations(locale).gettext)
    return _page(request, user, "sla", charts, table, chosen, names, "/dashboards/sla.csv")


@get("/dashboards/backlog", guards=[readers_only])
async def backlog_page(request: Request[Any, Any, Any], user: User, api: Api) -> Template:
    """Open tickets now by status and age band."""
    chosen = _customer_choice(request, user)
    report, names = await asyncio.gather(api.read(user.token, "/v1/reports/backlog", params=_given(chosen)),
                                         _names(api, user))
    chart, table = dashboards.backlog(report, i18n.translations(language(request)).gettext, user.staff)
    return _page(request, user, "backlog", [chart], table, chosen, names, "/dashboards/backlog.csv")


@get("/dashboards/hours", guards=[readers_only])
async def hours_page(request: Request[Any, Any, Any], user: User, api: Api) -> Template:
    """Each customer's norm-hours of a month (default: this one) against its budget (MED-12)."""
    chosen = {**_customer_choice(request, user), "month": _month(request)}
    report, names = await asyncio.gather(api.read(user.token, "/v1/reports/hours", params=_given(chosen)),
                                         _names(api, user))
    chart, table = dashboards.hours(report, names, i18n.translations(language(request)).gettext)
    return _page(request, user, "hours", [chart], table, {**chosen, "month": report.get("month", "")}, names,
                 "/dashboards/hours.csv")


@get([f"/dashboards/{page}.csv" for page in PAGES], guards=[readers_only])
async def report_csv(request: Request[Any, Any, Any], user: User, api: Api) -> Stream:
    """The report as query writes it in CSV, passed through as it arrives (the same choices as the page)."""
    report = request.url.path.rsplit("/", 1)[-1].removesuffix(".csv")
    if report == "sla":
        params: dict[str, str] = _sla_choice(request, user)[0]
    else:
        month = {"month": _month(request)} if report == "hours" else {}
        params = _given({**_customer_choice(request, user), **month})
    upstream = await api.csv(user.token, f"/v1/reports/{report}", params)
    name = "-".join([report, *(v for k, v in sorted(params.items()) if k in ("from", "to", "month"))])
    return Stream(passed_on(upstream), media_type="text/csv; charset=utf-8",
                  headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


def _sla_choice(request: Request[Any, Any, Any], user: User) -> tuple[dict[str, str], list[dt.date], dict[str, str]]:
    """The SLA report's query (``from``/``to`` dates of whole ISO weeks, ``group_by``) from the page's
    choices: how many weeks, the day whose week ends the period (default the clock's today, UTC), the dimension."""
    query = request.query_params
    weeks = int(query.get("weeks", "")) if query.get("weeks", "").isdigit() else dashboards.DEFAULT_WEEKS
    if weeks not in dashboards.WEEK_CHOICES:
        raise HTTPException(status_code=400, detail="weeks")
    until = _date(query.get("until", "")) or now(request).date()
    by = query.get("by", "")
    if by not in dashboards.BY or (by == "customer_id" and not user.staff):
        raise HTTPException(status_code=400, detail="by")
    try:
        mondays = dashboards.mondays(until, weeks)
        last = mondays[-1] + dt.timedelta(days=6)
    except OverflowError:
        raise HTTPException(status_code=400, detail="until") from None  # a period past the calendar's ends
    chosen = {"weeks": str(weeks), "until": until.isoformat(), "by": by, **_customer_choice(request, user)}
    params = {"from": mondays[0].isoformat(), "to": last.isoformat(),
              "group_by": ",".join(["week", *([by] if by else [])]), **_given({"customer_id": chosen["customer_id"]})}
    return params, mondays, chosen


def _customer_choice(request: Request[Any, Any, Any], user: User) -> dict[str, str]:
    """Staff may narrow a report to one customer; a customer's user always reads its own (query sees to it)."""
    return {"customer_id": request.query_params.get("customer_id", "").strip() if user.staff else ""}


def _month(request: Request[Any, Any, Any]) -> str:
    month = request.query_params.get("month", "").strip()
    if month and not MONTH.match(month):
        raise HTTPException(status_code=400, detail="month")
    return month


def _date(value: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise HTTPException(status_code=400, detail="until") from None


def _given(params: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in params.items() if v}


async def _names(api: Api, user: User) -> dict[str, str]:
    """Customers' names for the charts (the directory staff may read; a customer's user: its own)."""
    try:
        if user.staff:
            directory = await api.read_intake_kept(user.id, user.token, "/v1/customers", {"limit": 200}, 30)
            found = directory.get("items", [])
        else:
            found = [await api.read_intake_kept(user.id, user.token, f"/v1/customers/{user.customer_id}", None, 30)]
    except ApiError as error:
        if error.unauthorized:
            raise
        return {}  # ids instead of names
    return {str(c.get("id")): str(c.get("name") or c.get("id")) for c in found}


def _page(request: Request[Any, Any, Any], user: User, page: str, charts: list[Any], table: Any,
          chosen: dict[str, str], names: dict[str, str], csv: str) -> Template:
    query = urlencode(_given(chosen))
    _ = i18n.translations(language(request)).gettext
    return render(request, "dashboard.html", user=user, page=page, charts=charts, table=table, chosen=chosen,
                  customers=sorted(names.items(), key=lambda c: c[1]) if user.staff else [],
                  csv=csv + (f"?{query}" if query else ""),
                  week_choices=[(str(n), str(n)) for n in dashboards.WEEK_CHOICES],
                  by_choices=[(k, _(v)) for k, v in dashboards.BY.items() if user.staff or k != "customer_id"])


ROUTES = [dashboards_home, sla_page, backlog_page, hours_page, report_csv]

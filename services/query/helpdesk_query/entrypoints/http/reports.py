"""``GET /v1/reports/sla`` (CONTRACT §4): the SLA compliance report, as JSON or CSV."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.params import Parameter

from helpdesk_shared.web.auth import Principal
from helpdesk_shared.web.problems import Problem

from helpdesk_query.domain.csvtable import table
from helpdesk_query.domain.report import GROUPS
from helpdesk_query.entrypoints.http.consistency import wait_for_min_position
from helpdesk_query.reports import Reports

CSV = "text/csv"
COUNTS = ("met", "breached", "open", "compliance")


class SlaReportRow(msgspec.Struct, kw_only=True):
    """One group: its values (only the columns of ``group_by``) and its counts."""

    customer_id: str | msgspec.UnsetType = msgspec.UNSET
    category: str | None | msgspec.UnsetType = msgspec.UNSET
    priority: str | msgspec.UnsetType = msgspec.UNSET
    kind: str | msgspec.UnsetType = msgspec.UNSET
    week: str | msgspec.UnsetType = msgspec.UNSET  # ISO week of the due time, e.g. 2026-W06
    month: str | msgspec.UnsetType = msgspec.UNSET  # e.g. 2026-02
    met: int
    breached: int
    open: int
    compliance: float | None  # met / (met + breached); null while nothing was decided


class SlaReport(msgspec.Struct, kw_only=True, rename={"from_": "from"}):
    from_: str
    to: str
    customer_id: str | None
    group_by: list[str]
    rows: list[SlaReportRow]


def period_bound(name: str, value: str | None, end_of_day: bool) -> dt.datetime | None:
    """A period bound: a date (``to`` takes the whole day) or an RFC 3339 instant with an offset."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            day = dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), tzinfo=dt.UTC)
            return day + dt.timedelta(days=1) if end_of_day else day
        instant = dt.datetime.fromisoformat(value)
    except (ValueError, OverflowError):
        instant = None
    if instant is None or instant.tzinfo is None:
        raise Problem(400, "validation_failed", f"{name} must be a date or an RFC 3339 instant with an offset",
                      errors=[{"field": name, "message": "e.g. 2026-02-01 or 2026-02-01T00:00:00+03:00"}])
    return instant


def _group_by(value: str | None) -> list[str]:
    """The ``group_by`` list (default: by target kind); week or month, not both."""
    chosen = list(dict.fromkeys(g for g in (value or "kind").split(",") if g))
    bad = [g for g in chosen if g not in GROUPS]
    if not bad and {"week", "month"} <= set(chosen):
        bad = ["week and month together"]
    if bad:
        raise Problem(400, "validation_failed", f"group_by: cannot group by {bad[0]!r}",
                      errors=[{"field": "group_by", "message": f"some of {list(GROUPS)}; week or month"}])
    return chosen


def _csv(body: dict[str, Any]) -> str:
    return table([*body["group_by"], *COUNTS], body["rows"])


class ReportQueries(Controller):
    path = "/v1/reports"
    tags = ["reports"]
    before_request = wait_for_min_position
    opt = {"min_position": True}

    @get("/sla", media_type="application/json")
    async def sla(
        self, request: Request[Any, Any, Any], principal: Principal, reports: Reports,
        from_: Annotated[str | None, Parameter(query="from", description="date or RFC 3339; default: this month")] = None,
        to: Annotated[str | None, Parameter(description="date (inclusive) or RFC 3339 (exclusive)")] = None,
        customer_id: str | None = None,
        group_by: Annotated[str | None, Parameter(description=f"comma-separated: {', '.join(GROUPS)}")] = None,
    ) -> Response[SlaReport]:
        """Targets met, breached and open by due time in the period, per group; ``Accept: text/csv`` for CSV.

        Admins and auditors read any customer's; a customer reads its own.
        """
        if customer_id is not None and "\x00" in customer_id:
            raise Problem(400, "validation_failed", "customer_id cannot contain NUL",
                          errors=[{"field": "customer_id", "message": "a customer id"}])
        body = await reports.sla(principal, period_bound("from", from_, False), period_bound("to", to, True),
                                 customer_id, _group_by(group_by))
        if CSV in request.headers.get("accept", ""):
            return Response(_csv(body), media_type=CSV, headers={"Content-Type": f"{CSV}; charset=utf-8"})
        return Response(msgspec.convert({**body, "from_": body.pop("from")}, SlaReport))

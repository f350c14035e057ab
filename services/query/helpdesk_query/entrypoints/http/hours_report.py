"""``GET /v1/reports/hours`` (CONTRACT §4): norm-hours planned and used against the monthly budget (MED-12)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.params import Parameter

from helpdesk_shared.vocabulary import Role
from helpdesk_shared.web.auth import Principal
from helpdesk_shared.web.problems import Problem

from helpdesk_query.application import Queries
from helpdesk_query.domain.csvtable import table
from helpdesk_query.entrypoints.http.consistency import wait_for_min_position

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
CSV_COLUMNS = ("customer_id", "month", "measure", "budget_minutes", "planned_minutes", "used_minutes",
               "remaining_minutes", "budget_hours", "planned_hours", "used_hours")
Month = Annotated[str | None, Parameter(description="YYYY-MM; default the current month", max_length=7)]


class HoursReport(Controller):
    path = "/v1/reports/hours"
    tags = ["reports"]
    before_request = wait_for_min_position
    opt = {"min_position": True}

    @get("/", media_type="application/json")
    async def hours(self, request: Request[Any, Any, Any], principal: Principal, queries: Queries,
                    month: Month = None, customer_id: str | None = None) -> Response[Any]:
        """Budget, planned, used and remaining norm-hours per customer for a month (MED-12).

        A customer sees its own (another customer's id answers 404); JSON by default, CSV with
        ``Accept: text/csv``. ``remaining`` counts planned or spent minutes, as the policy's
        ``budget.measure`` says; ``budget`` is null for a contract without norm-hours. A customer
        with a budget and nothing planned or used in the month has its row too (0 of its budget).
        """
        if month is not None and not MONTH.match(month):
            raise Problem(400, "validation_failed", "month must be YYYY-MM",
                          errors=[{"field": "month", "message": "e.g. 2026-03"}])
        if principal.role == Role.CUSTOMER and customer_id not in (None, principal.customer_id):
            raise Problem(404, "not_found", f"no customer {customer_id}")
        report = await queries.hours(principal, month, customer_id)
        if "text/csv" in request.headers.get("accept", ""):
            return Response(_csv(report["items"]), media_type="text/csv; charset=utf-8")
        return Response(report)


def _csv(items: list[dict[str, Any]]) -> str:
    return table(CSV_COLUMNS, items, newline="\n")  # "\n", as this report has always ended its lines

"""``GET /v1/reports/backlog`` (CONTRACT §4): open tickets by status and age band, JSON or CSV."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.openapi import ResponseSpec

from helpdesk_shared.web.auth import Principal

from helpdesk_query.application import Queries
from helpdesk_query.domain.backlog import as_csv

CSV = "text/csv"


class BacklogReport(Controller):
    path = "/v1/reports/backlog"
    tags = ["reports"]

    @get("/", opt={"alternatives": [CSV]}, responses={
        200: ResponseSpec(dict[str, Any], generate_examples=False,
                          description="`{as_of, customer_id, bands: [{age_band, from_days, to_days}], "
                                      "items: [{status, age_band, count}], total}`; with `Accept: text/csv` the "
                                      "items as CSV (`status,age_band,count`)."),
    })
    async def backlog(self, request: Request[Any, Any, Any], principal: Principal, queries: Queries,
                      customer_id: str | None = None) -> Response[Any]:
        """Open tickets now by status and age band (`<1d`, `1-3d`, `3-7d`, `7-30d`, `>30d` since registration);
        staff see every customer's (or ``customer_id``'s), a customer's employee its own."""
        body = await queries.backlog(principal, customer_id)
        if CSV in request.headers.get("accept", ""):
            return Response(as_csv(body), media_type=f"{CSV}; charset=utf-8",
                            headers={"Content-Disposition": 'attachment; filename="backlog.csv"'})
        return Response(body)

"""``GET /v1/events/export`` (CARD-8): any range of the event log as a streamed NDJSON or CSV download."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.openapi import ResponseSpec
from litestar.params import Parameter
from litestar.response import Stream

from helpdesk_shared.web.auth import Principal
from helpdesk_shared.web.problems import Problem

from helpdesk_query import export
from helpdesk_query.application import Queries
from helpdesk_query.domain.export import CsvExport, ExportRange, ExportRangeInvalid, ndjson
from helpdesk_query.entrypoints.http.consistency import wait_for_min_position
from helpdesk_query.entrypoints.http.reports import period_bound

NDJSON = "application/x-ndjson"
CSV = "text/csv"
Position = Annotated[int | None, Parameter(ge=0, le=2**63 - 1, description="a store position (included)")]
DESCRIPTION = (
    "The range's events in log order, streamed in chunks (`Transfer-Encoding: chunked`): by default, or with "
    "`Accept: application/x-ndjson`, one CloudEvent a line as stored; with `Accept: text/csv`, CSV with the "
    "columns `position,time,type,subject,actor,data` (`data` as JSON; `position` empty for SLA facts).")


def _range(from_position: int | None, to_position: int | None, from_: str | None, to: str | None) -> ExportRange:
    try:
        return ExportRange(from_position, to_position, period_bound("from", from_, False), period_bound("to", to, True))
    except ExportRangeInvalid as error:
        field = "to_position" if "position" in str(error) else "to"
        raise Problem(400, "validation_failed", str(error), errors=[{"field": field, "message": str(error)}]) from None


class EventLogExport(Controller):
    path = "/v1/events/export"
    tags = ["events"]
    before_request = wait_for_min_position
    opt = {"min_position": True}

    @get("/", media_type=NDJSON, opt={"alternatives": [NDJSON, CSV]}, responses={
        200: ResponseSpec(str, media_type=NDJSON, generate_examples=False, description=DESCRIPTION)})
    async def export(
        self, request: Request[Any, Any, Any], principal: Principal, queries: Queries,
        from_position: Position = None, to_position: Position = None,
        from_: Annotated[str | None, Parameter(query="from", description="date or RFC 3339 (included)")] = None,
        to: Annotated[str | None, Parameter(description="date (the whole day) or RFC 3339 (excluded)")] = None,
    ) -> Stream:
        """Events with store positions from ``from_position`` to ``to_position`` (each SLA fact with the
        events it was published between) and times from ``from`` to ``to``, as a download (auditor, admin)."""
        within = _range(from_position, to_position, from_, to)
        span = await export.span_of(queries, principal, within)
        chunks = export.messages(queries.stream, span)
        as_csv = CSV in request.headers.get("accept", "")
        kind, body = (f"{CSV}; charset=utf-8", _csv(chunks, within)) if as_csv else (NDJSON, _ndjson(chunks, within))
        name = f"events-{from_position or 1}-{'' if to_position is None else to_position}.{'csv' if as_csv else 'ndjson'}"
        return Stream(body, media_type=kind, headers={
            "Content-Type": kind, "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


async def _ndjson(chunks: AsyncIterator[Any], within: ExportRange) -> AsyncIterator[bytes]:
    async for batch in chunks:
        if text := ndjson(batch, within):
            yield text


async def _csv(chunks: AsyncIterator[Any], within: ExportRange) -> AsyncIterator[bytes]:
    table = CsvExport(within)
    yield table.header()
    async for batch in chunks:
        if text := table.batch(batch):
            yield text

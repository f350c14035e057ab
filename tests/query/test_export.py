"""``GET /v1/events/export`` (CARD-8): any range of the event log as NDJSON or CSV, streamed.

The domain part (rows, periods, ranges) without I/O; then query and intake as real processes
over facts published straight to the stream: the range's bounds, both formats, who may export,
and a large range streamed in chunks while the process's memory stays flat.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgspec
import nats
import pytest

from helpdesk_shared import events as ev
from helpdesk_shared import sla_events as sla
from helpdesk_shared import subjects
from helpdesk_shared.parking import StreamMessage
from helpdesk_shared.vocabulary import Role, Status

from helpdesk_query.domain.export import COLUMNS, CsvExport, ExportRange, ExportRangeInvalid, ndjson
from tests.query.handmade import Story, start_query, token
from tests.query.synthetic import histories, publish
from tests.support import servers
from tests.support.processes import ADMIN_TOKEN, Services, base_env

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
AGENT = ev.Actor(id="agent-7", role=Role.AGENT)
AUDITOR = token("auditor-1", Role.AUDITOR)
CSV = {**AUDITOR, "Accept": "text/csv"}


def _story() -> Story:
    """Two tickets, six store positions an hour apart, and an SLA fact after position 2."""
    story = Story()
    story.accepted_in_time("t1", "acme", T0, ev.Actor(id="u1", role=Role.CUSTOMER), AGENT)
    story.open("t2", "globex", T0 + dt.timedelta(hours=2), ev.Actor(id="u2", role=Role.CUSTOMER))
    for hour, priority in ((3, "high"), (4, "urgent"), (5, "low")):
        story.fact(ev.PriorityChanged, "t2", T0 + dt.timedelta(hours=hour), AGENT, Status.NEW, priority=priority)
    return story


def _messages(story: Story) -> list[StreamMessage]:
    """The story as the stream holds it: the SLA fact right after the event it followed."""
    tickets = [StreamMessage(i + 1, "s", msgspec.json.encode(e), e.sequence) for i, e in enumerate(story.tickets)]
    fact = StreamMessage(99, "helpdesk.sla.t1.met", msgspec.json.encode(story.sla[0]), None)
    return [*tickets[:2], fact, *tickets[2:]]


def test_card8_export_csv_has_position_time_type_subject_actor_and_data_as_json() -> None:
    messages = _messages(_story())
    table = CsvExport(ExportRange())
    rows = list(csv.DictReader(io.StringIO((table.header() + table.batch(messages)).decode())))
    assert tuple(rows[0]) == COLUMNS and len(rows) == 7
    assert [r["position"] for r in rows] == ["1", "2", "", "3", "4", "5", "6"]  # an SLA fact has no position
    assert (rows[1]["type"], rows[1]["subject"], rows[1]["actor"]) == ("helpdesk.ticket.accepted", "t1", "agent-7")
    assert json.loads(rows[1]["data"])["from_status"] == "new" and rows[1]["time"].startswith("2026-03-02T10:00")
    assert rows[2]["type"] == "helpdesk.sla.met" and rows[2]["actor"] == ""
    odd = table.batch([StreamMessage(7, "helpdesk.ticket.x.y", b"\xffnot json", 7)]).decode()
    assert odd.startswith("7,,,helpdesk.ticket.x.y,,") and odd.endswith("\r\n")


def test_card8_export_period_keeps_events_from_its_start_to_before_its_end() -> None:
    messages = _messages(_story())
    period = ExportRange(start=T0 + dt.timedelta(hours=1), end=T0 + dt.timedelta(hours=3))
    lines = [json.loads(line) for line in ndjson(messages, period).splitlines()]
    assert [line["time"][11:16] for line in lines] == ["10:00", "10:00", "11:00"]
    assert ndjson(messages, ExportRange()) == b"".join(m.payload + b"\n" for m in messages)
    for bad in ({"first": 5, "last": 4}, {"start": T0, "end": T0}):
        with pytest.raises(ExportRangeInvalid):
            ExportRange(**bad)  # type: ignore[arg-type]


@dataclass
class Running:
    query: Any
    nats_url: str
    admin: dict[str, str]


@pytest.fixture(scope="module")
def running(postgres_server: servers.PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """intake (for its token keys) and query, without a projector: the export reads only the stream."""
    root = tmp_path_factory.mktemp("export")
    with servers.fresh_database(postgres_server) as database_url, servers.nats_server(root / "nats") as nats_server:
        services = Services(base_env(database_url, nats_server.url, "smtp://127.0.0.1:1", root / "data"), root)
        try:
            query = start_query(services, env={"HELPDESK_RUN_PROJECTOR": "false"})
            yield Running(query, nats_server.url, {"Authorization": f"Bearer {ADMIN_TOKEN}"})
        finally:
            services.stop_all()


def _put(nats_url: str, *groups: list[Any]) -> None:
    """Publish each group in turn: ticket facts as the relay does, SLA facts as the SLA service does."""
    async def put() -> None:
        client = await nats.connect(nats_url)
        try:
            js = client.jetstream()
            for group in groups:
                if group and isinstance(group[0], sla.SlaCloudEvent):
                    for fact in group:
                        subject = subjects.sla_subject(fact.subject, sla.event_type(fact.data))
                        await js.publish(subject, msgspec.json.encode(fact))
                else:
                    await publish(js, group)
        finally:
            await client.close()

    asyncio.run(put())


def _export(query: Any, headers: dict[str, str], **params: Any) -> httpx.Response:
    return httpx.get(query.url + "/v1/events/export", params=params, headers=headers, timeout=30)


def test_card8_export_range_bounds_formats_and_only_auditors_and_admins(running: Running) -> None:
    query, story = running.query, _story()
    _put(running.nats_url, story.tickets[:2], story.sla, story.tickets[2:])  # the SLA fact after position 2
    whole = _export(query, AUDITOR)
    assert whole.status_code == 200 and whole.headers["content-type"].startswith("application/x-ndjson")
    assert 'filename="events-1-.ndjson"' in whole.headers["content-disposition"]
    types = [json.loads(line)["type"].split(".")[1] for line in whole.text.splitlines()]
    assert types == ["ticket", "ticket", "sla", "ticket", "ticket", "ticket", "ticket"]
    # [3, 5]: from the SLA fact published after position 2 to position 5; [1, 2] then [3, 6] cover all once
    middle = [json.loads(line) for line in _export(query, AUDITOR, from_position=3, to_position=5).text.splitlines()]
    assert [e.get("sequence") for e in middle if e["type"].startswith("helpdesk.ticket")] == [3, 4, 5]
    assert middle[0]["type"] == "helpdesk.sla.met"
    halves = [_export(query, AUDITOR, from_position=a, to_position=b).text for a, b in ((1, 2), (3, 6))]
    assert "".join(halves) == whole.text
    assert _export(query, AUDITOR, from_position=7).text == ""
    table = _export(query, CSV, from_position=2, to_position=2, to="2026-03-02")
    assert table.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(table.text)))
    assert rows[0] == list(COLUMNS) and [r[0] for r in rows[1:]] == ["2"]
    timed = _export(query, CSV, **{"from": "2026-03-02T12:00:00Z", "to": "2026-03-02T14:00:00+00:00"})
    assert [r[0] for r in list(csv.reader(io.StringIO(timed.text)))[1:]] == ["4", "5"]
    for params in ({"from_position": 5, "to_position": 4}, {"from": "yesterday"}, {"from_position": -1}):
        refused = _export(query, AUDITOR, **params)
        assert refused.status_code == 400 and refused.json()["code"] == "validation_failed", params
    admin = _export(query, running.admin)
    assert admin.text == whole.text
    for caller in (token("u1", Role.CUSTOMER, "acme"), token("agent-7", Role.AGENT)):
        refused = _export(query, {**caller, "Accept": "text/csv"})
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert _export(query, {}).status_code == 401
    document = httpx.get(query.url + "/schema/openapi.json").json()["paths"]["/v1/events/export"]["get"]
    assert {"application/x-ndjson", "text/csv"} <= set(document["responses"]["200"]["content"])


def _rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))


def _padded(event: ev.CloudEvent) -> ev.CloudEvent:
    """A long request text: many megabytes from few events, so the test is about bytes, not CPU."""
    if not isinstance(event.data, ev.TicketOpened):
        return event
    return msgspec.structs.replace(event, data=msgspec.structs.replace(event.data, description="описание " * 500))


def test_card8_export_of_a_large_range_streams_in_chunks_with_flat_memory(running: Running) -> None:
    query, first = running.query, 1000
    events = [_padded(e) for e in histories(3000, events_per_ticket=2, start_position=first)]  # about 30 MB
    _put(running.nats_url, events)
    started = time.perf_counter()
    _export(query, AUDITOR, to_position=10).raise_for_status()  # the first export's imports and buffers
    before, peak, size, chunks, lines = _rss_kib(query.pid), 0, 0, 0, 0
    with httpx.stream("GET", query.url + "/v1/events/export", params={"from_position": first}, headers=CSV,
                      timeout=60) as answer:
        assert answer.status_code == 200 and "content-length" not in answer.headers
        for chunk in answer.iter_raw():
            size, chunks, lines = size + len(chunk), chunks + 1, lines + chunk.count(b"\n")
            if chunks % 20 == 0:
                peak = max(peak, _rss_kib(query.pid))
    assert lines == len(events) + 1
    grown = (peak - before) * 1024
    print(f"export: {len(events)} events, {size / 1e6:.1f} MB in {chunks} chunks, {time.perf_counter() - started:.1f} s; "
          f"query's RSS grew "
          f"{grown / 1e6:.1f} MB (from {before / 1024:.0f} MB)")
    assert chunks >= 10 and grown < size / 2, (grown, size)


def test_card8_one_csv_writer_keeps_each_reports_format() -> None:
    """The SLA and backlog reports end lines with CRLF, the hours report with LF, empty for None, as before."""
    from helpdesk_query.domain import backlog
    from helpdesk_query.entrypoints.http import hours_report, reports

    sla_body = {"group_by": ["kind"], "rows": [{"kind": "resolution", "met": 2, "breached": 1, "open": 0,
                                                "compliance": 2 / 3}, {"kind": "x", "met": 0, "breached": 0,
                                                                       "open": 1, "compliance": None}]}
    assert reports._csv(sla_body) == ("kind,met,breached,open,compliance\r\nresolution,2,1,0,0.6666666666666666\r\n"
                                      "x,0,0,1,\r\n")
    hours = hours_report._csv([{"customer_id": "acme", "month": "2026-03", "measure": "planned", "budget_minutes": None,
                                "extra": "left out"}])
    assert hours == ",".join(hours_report.CSV_COLUMNS) + "\nacme,2026-03,planned" + "," * 7 + "\n"
    lines = backlog.as_csv({"items": [{"status": "new", "age_band": "<1d", "count": 2}]})
    assert lines == "status,age_band,count\r\nnew,<1d,2\r\n"

"""Issue #14 items 6 and 7: every process's metrics, and one trace per ticket across every process.

The stack runs as real processes exporting spans over OTLP to a receiver in the test
(``tests/support/otlp.py``), as they would to an OpenTelemetry collector.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.sla.scenario import Scenario, msk
from tests.support.desk import provision
from tests.support.mail import message, send_smtp, start_listener
from tests.support.otlp import OtlpGrpcReceiver, OtlpReceiver, Span
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e]
SERVER, CLIENT, PRODUCER, CONSUMER = 2, 3, 4, 5
MONDAY = msk(2026, 3, 2, 10, 0)


def traceparent() -> tuple[str, str]:
    trace_id = secrets.token_hex(16)
    return trace_id, f"00-{trace_id}-{secrets.token_hex(8)}-01"


def named(otlp: OtlpReceiver, trace_id: str) -> dict[tuple[str, str], Span]:
    return {(s.service, s.name): s for s in otlp.spans(trace_id)}


def test_platform_tracing_follows_one_ticket_from_the_http_request_to_the_mail(services, smtp_catcher):
    with OtlpReceiver() as otlp:
        services.env.update(otlp.env())
        intake = services.start("intake", "serve")
        for name, command in (("intake", "relay"), ("query", "serve"), ("notify", "serve")):
            services.start(name, command)
        desk = provision(httpx.Client(base_url=intake.url, timeout=10))
        trace_id, parent = traceparent()
        ticket = desk.open(headers={**desk.customer, "traceparent": parent})
        smtp_catcher.wait(1)
        wanted = {("helpdesk-intake", "POST /v1/tickets"), ("helpdesk-intake", "eventstore.commit"),
                  ("helpdesk-intake-relay", "publish opened"), ("helpdesk-query", "process opened"),
                  ("helpdesk-notify", "process opened"), ("helpdesk-notify", "smtp send acknowledgement")}
        spans = wait_until(lambda: wanted <= set(s := named(otlp, trace_id)) and s, timeout=30,
                           message=f"spans of the trace: {sorted(named(otlp, trace_id))}")
        publish = spans["helpdesk-intake-relay", "publish opened"]
        assert spans["helpdesk-intake", "POST /v1/tickets"].kind == SERVER
        assert publish.kind == PRODUCER
        for consumer in ("helpdesk-query", "helpdesk-notify"):  # each consumer's span is the publish's child
            assert (spans[consumer, "process opened"].kind, spans[consumer, "process opened"].parent_id) == (
                CONSUMER, publish.span_id)
        assert spans["helpdesk-notify", "smtp send acknowledgement"].parent_id == publish.span_id
        # span names are route templates: ids stay in attributes, out of names
        comment_trace, parent = traceparent()
        assert desk.client.post(f"/v1/tickets/{ticket['id']}/comments", json={"body": "more"},
                                headers={**desk.customer, "traceparent": parent}).status_code == 201
        wait_until(lambda: ("helpdesk-intake", "POST /v1/tickets/{ticket_id}/comments") in named(otlp, comment_trace),
                   timeout=20, message=f"spans: {sorted((s.service, s.name, s.trace_id) for s in otlp.spans())}")
        assert not [s.name for s in otlp.spans() if ticket["id"] in s.name]


def test_platform_tracing_sla_command_to_intake_joins_the_trace_of_the_fact_that_caused_it(services):
    with OtlpReceiver() as otlp:
        services.env.update(otlp.env())
        desk = Scenario.start(services, "medis", start=MONDAY)
        tid = desk.open()
        trace_id, parent = traceparent()
        asked = desk.desk.client.post(f"/v1/tickets/{tid}/actions/request_clarification", json={},
                                      headers={**desk.desk.agent, "traceparent": parent})
        assert asked.status_code == 200, asked.text
        desk.move_to(MONDAY + dt.timedelta(weeks=2, minutes=1))  # MED-6: the SLA rejects it automatically
        assert desk.status(tid) == "rejected"
        route = "POST /v1/tickets/{ticket_id}/actions/{action}"
        wanted = {("helpdesk-sla", route), ("helpdesk-intake", route),
                  ("helpdesk-sla", "process clarification_requested")}
        spans = wait_until(lambda: wanted <= set(s := named(otlp, trace_id)) and s, timeout=30,
                           message=f"spans of the trace: {sorted(named(otlp, trace_id))}")
        sla_call = spans["helpdesk-sla", route]
        assert sla_call.kind == CLIENT
        # the trace holds two intake spans of this route: the agent's request (the test's parent) and
        # the SLA's command (its child), exported in either order; both must be there, each under its own
        intake = wait_until(lambda: len(s := [x for x in otlp.spans(trace_id) if (x.service, x.name) ==
                                              ("helpdesk-intake", route)]) >= 2 and s, timeout=30,
                            message=f"spans of the trace: {sorted(named(otlp, trace_id))}")
        assert sorted(x.parent_id for x in intake) == sorted([parent.split("-")[2], sla_call.span_id])
        desk.close()


def test_platform_tracing_exports_over_grpc_when_the_protocol_says_so(services):
    with OtlpGrpcReceiver() as otlp:
        intake = services.start("intake", "serve", env={**otlp.env(), "OTEL_SERVICE_NAME": "desk-intake"})
        trace_id, parent = traceparent()
        httpx.post(f"{intake.url}/v1/tickets", json={}, headers={"traceparent": parent}, timeout=10)
        [span] = wait_until(lambda: otlp.spans(trace_id), timeout=20)
        assert (span.service, span.name, span.kind) == ("desk-intake", "POST /v1/tickets", SERVER)


def metrics(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample at ``url`` by (name, labels)."""
    text = httpx.get(url, timeout=5).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def sample(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_platform_metrics_relay_and_smtp_listener_serve_their_own_and_consumers_report_lag_pool_and_commits(services):
    intake = services.start("intake", "serve")
    services.start("intake", "relay")
    query = services.start("query", "serve")
    _, smtp_port = start_listener(services)
    relay_url = f"http://127.0.0.1:{services.env['HELPDESK_RELAY_METRICS_PORT']}"
    smtp_url = f"http://127.0.0.1:{services.env['HELPDESK_SMTP_METRICS_PORT']}"
    desk = provision(httpx.Client(base_url=intake.url, timeout=10))
    desk.open()
    code, _ = asyncio.run(send_smtp(smtp_port, message("user@acme.test", "By mail")))
    assert code == 250
    relayed = wait_until(lambda: (m := metrics(f"{relay_url}/metrics")) and sample(m, "helpdesk_relay_published_total")
                         and m, timeout=20)
    assert sample(relayed, "helpdesk_db_pool_size", pool="intake-relay") >= 1
    assert httpx.get(f"{relay_url}/healthz", timeout=5).status_code == 200
    listener = metrics(f"{smtp_url}/metrics")
    assert sample(listener, "helpdesk_smtp_messages_total", reply="250") == 1
    assert sample(listener, "helpdesk_db_commit_seconds_count", writer="intake-group-commit") >= 1
    assert httpx.get(f"{smtp_url}/healthz", timeout=5).status_code == 200
    served = metrics(f"{intake.url}/metrics")
    assert sample(served, "helpdesk_db_commit_seconds_count", writer="intake-group-commit") >= 1
    assert sample(served, "helpdesk_db_pool_size", pool="intake") >= 1
    projected = wait_until(lambda: (m := metrics(f"{query.url}/metrics"))
                           and sample(m, "helpdesk_db_commit_seconds_count", writer="helpdesk-query") and m, timeout=20)
    assert ("helpdesk_consumer_lag", (("consumer", "helpdesk-query"),)) in projected
    assert ("helpdesk_db_requests_waiting", (("pool", "query"),)) in projected


def test_platform_json_logs_carry_the_trace_and_span_of_the_work_they_tell_of(services):
    with OtlpReceiver() as otlp:
        services.start("intake", "serve")
        env = {**otlp.env(), "HELPDESK_LOG_FORMAT": "json"}
        listener, port = start_listener(services, env=env)
        code, _ = asyncio.run(send_smtp(port, message("user@acme.test", "Logged")))
        assert code == 250

        def recorded() -> list[dict]:
            lines = [json.loads(line) for line in listener.log_path.read_text().splitlines() if line.startswith("{")]
            return [line for line in lines if line["message"].startswith("recorded inbound mail")]
        [line] = wait_until(recorded, timeout=20)
        assert line["service"] == "helpdesk-intake-smtp" and line["level"] == "INFO"
        [span] = wait_until(lambda: otlp.spans(line["trace_id"]) and [s for s in otlp.spans(line["trace_id"])
                                                                        if s.name == "smtp DATA"], timeout=20)
        assert span.span_id == line["span_id"]

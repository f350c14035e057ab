"""Issue #15 item 12: generated hostile requests against the running desk, from its own OpenAPI documents.

schemathesis draws schema-conforming and schema-violating requests for every operation of
intake, query and notify, each sent with an admin's or a customer's token; half of them
aim at ids that exist. No answer may be a 5xx, and afterwards every consumer must have
caught up with the stream: hostile input that reached the store may not stick one.
Bounded by HELPDESK_HOSTILE_SECONDS of generation (default 100 s; the whole test ~2.5 min).
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.notify.mail import user_id
from tests.support.stack import Stack, relayed_head, start_stack, unsettled
from tests.support.waiting import wait_until
from tests.support.desk import KS7

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
BUDGET = float(os.environ.get("HELPDESK_HOSTILE_SECONDS", "100"))
EXAMPLES = 200  # per operation; the time budget usually ends an operation first
APIS = ("intake", "query", "notify")
# intake's inbound mail body is documented as message/rfc822: generated bodies go as raw bytes
schemathesis.serializer.alias("message/rfc822", "application/octet-stream")
schemathesis.serializer.alias("application/toml", "text/plain")  # a policy document (POST /v1/policies)
STREAMS = ("/v1/stream",)  # server-sent events: a 200 never ends, so only its status and headers are read
NUL_PAYLOADS = ({"subject": "nul\x00subject", "description": "nul\x00body"}, {"body": "a\x00comment"})


class OutOfTime(Exception):
    """Ends an operation's examples when its share of the budget is spent (no shrink phase runs)."""


@dataclass(frozen=True)
class ServerError:
    """One 5xx, with what provoked it."""

    api: str
    who: str
    status: int
    request: str
    answer: str

    def __str__(self) -> str:
        return f"[{self.api} as {self.who}] {self.status}: {self.request}\n    -> {self.answer[:300]}"


def _known_ids(stack: Stack) -> dict[str, Any]:
    """Ids that exist, so generated requests also reach the code behind a found resource."""
    desk = stack.desk
    ticket = desk.open()
    desk.client.post(f"/v1/tickets/{ticket['id']}/comments", json={"body": "seen"}, headers=desk.agent)
    return {"ticket_id": ticket["id"], "customer_id": desk.customer_id, "delivery_id": 1,
            "user_id": user_id(desk.customer)}


def _strategy(operation: Any, known: dict[str, Any]) -> st.SearchStrategy[Any]:
    fixed = {name: value for name, value in known.items() if "{" + name + "}" in operation.path}
    modes = [operation.as_strategy(generation_mode=mode)
             for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
    if fixed:
        modes += [operation.as_strategy(generation_mode=GenerationMode.POSITIVE, path_parameters=fixed)]
    return st.one_of(modes)


def _position_not_reached(case: Any, response: Any) -> bool:
    """504 to a read holding Helpdesk-Min-Position beyond the log: the contract's answer (CONTRACT §4), no fault."""
    headers = {k.lower() for k in (case.headers or {})}
    return response.status_code == 504 and "helpdesk-min-position" in headers \
        and response.headers.get("content-type", "").startswith("application/problem+json")


def _fuzz(api: str, url: str, operation: Any, tokens: dict[str, dict[str, str]],
          known: dict[str, Any], until: float, found: list[ServerError], session: Any) -> int:
    """Send generated cases for one operation until ``until``; return how many were sent."""
    sent = 0

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=_strategy(operation, known), who=st.sampled_from(sorted(tokens)))
    def run(case: Any, who: str) -> None:
        nonlocal sent
        if time.monotonic() > until:
            raise OutOfTime
        try:
            response = _send(case, url, session, tokens[who])
        except (requests.ConnectionError, requests.Timeout) as error:  # a dropped or hung request
            found.append(ServerError(api, who, 599, case.as_curl_command(), repr(error)))
            return
        except Exception:  # noqa: BLE001 - the client could not even form this request: nothing sent
            return
        sent += 1
        if response.status_code >= 500 and not _position_not_reached(case, response):
            found.append(ServerError(api, who, response.status_code, case.as_curl_command(),
                                     response.text))

    try:
        run()
    except OutOfTime:
        pass
    return sent


def _send(case: Any, url: str, session: Any, headers: dict[str, str]) -> Any:
    """The generated request's answer; of an event stream that opened, its status and headers only."""
    if case.operation.path not in STREAMS:
        return case.call(base_url=url, session=session, headers=headers, timeout=15)
    response = session.request(**case.as_transport_kwargs(base_url=url, headers=headers), stream=True, timeout=15)
    if response.status_code < 300:
        response.close()
    return response


def _nul_inputs(stack: Stack) -> list[ServerError]:
    """NUL characters in what becomes an event: the classic poison pill for a PostgreSQL consumer."""
    desk, found = stack.desk, []
    opened = desk.client.post("/v1/tickets", json=NUL_PAYLOADS[0], headers=desk.customer)
    ticket = desk.open()
    commented = desk.client.post(f"/v1/tickets/{ticket['id']}/comments", json=NUL_PAYLOADS[1],
                                 headers=desk.customer)
    for name, response in (("open", opened), ("comment", commented)):
        if response.status_code >= 500:
            found.append(ServerError("intake", "customer", response.status_code, name, response.text))
    return found


def test_hardening_hostile_input_generated_requests_never_answer_5xx_nor_stick_a_consumer(
        services: Any, nats_url: str, database_url: str) -> None:
    stack = start_stack(services, nats_url, database_url)
    known = _known_ids(stack)
    tokens = {"admin": stack.desk.admin, "customer": stack.desk.customer}
    found = _nul_inputs(stack)
    operations = [(api, op.ok()) for api in APIS
                  for op in schemathesis.openapi.from_url(f"{stack.urls[api]}/schema/openapi.json")
                  .get_all_operations()]
    started, sent, session = time.monotonic(), 0, requests.Session()
    for n, (api, operation) in enumerate(operations):
        share = (started + BUDGET - time.monotonic()) / (len(operations) - n)
        sent += _fuzz(api, stack.urls[api], operation, tokens, known, time.monotonic() + share, found,
                      session)
    print(f"\nhostile input: {sent} generated requests over {len(operations)} operations "
          f"in {time.monotonic() - started:.0f} s; {len(found)} answered 5xx")
    after = stack.desk.client.post("/v1/tickets", json={"subject": "After", "description": "Still here?", "details": KS7},
                                   headers=stack.desk.customer)
    print(f"the fuzzed customer opens a ticket afterwards: {after.status_code} {after.text[:200]}")
    dead = [name for name, process in stack.processes.items() if not process.running()]
    stuck = _wait_settled(stack) if not dead else []
    errors = "\n".join(map(str, _distinct(found)))
    assert not (found or dead or stuck), (f"5xx answers:\n{errors}\n" if found else "") + (
        f"processes died: {dead}\n" if dead else "") + (
        f"consumers stuck or behind after hostile input: {stuck}" if stuck else "")
    for api in APIS:
        assert httpx.get(f"{stack.urls[api]}/readyz", timeout=5).status_code == 200


def _wait_settled(stack: Stack, timeout: float = 30) -> list[Any]:
    """Wait until a last ticket is relayed and every consumer has caught up; what is still behind."""
    desk = stack.desk  # the other customer: the generated requests never aimed at its ids
    last = desk.client.post("/v1/tickets", json={"subject": "Last", "description": "After the storm.", "details": KS7},
                            headers=desk.other_customer)
    if last.status_code != 201:
        return [f"a last ticket was refused: {last.status_code} {last.text[:300]}"]
    position = int(last.headers["Helpdesk-Position"])

    def behind() -> list[Any]:
        relay = [] if relayed_head(stack.nats_url) >= position else [f"relay behind {position}"]
        return relay + unsettled(stack.nats_url)

    try:
        wait_until(lambda: not behind(), timeout=timeout, interval=0.5)
    except TimeoutError:
        return behind()
    return []


def _distinct(found: list[ServerError]) -> list[ServerError]:
    """One example per (api, status, method and path): the rest repeat it."""
    seen: dict[tuple[str, int, str], ServerError] = {}
    for error in found:
        route = re.sub(r"'http://[^/]+", "'", error.request.split("?")[0])[:120]
        seen.setdefault((error.api, error.status, route), error)
    return list(seen.values())

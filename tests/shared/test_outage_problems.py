"""One error map for every service: a dependency that is away answers 503 not_ready, never 500."""

from __future__ import annotations

import psycopg
import pytest
from litestar import Litestar, get
from litestar.testing import TestClient
from nats import errors as nats_errors
from psycopg_pool import PoolTimeout

from helpdesk_shared.web.problems import EXCEPTION_HANDLERS


class StoreError(Exception):
    """Stands for an adapter's own error type raised from the driver's (as eventsourcing does)."""


def _wrapped(error: Exception) -> Exception:
    try:
        raise error
    except Exception as cause:
        try:
            raise StoreError(str(cause)) from cause
        except StoreError as wrapped:
            return wrapped


FAILURES = {
    "pool-timeout": PoolTimeout("couldn't get a connection after 5.00 sec"),
    "connection-lost": psycopg.OperationalError("server closed the connection unexpectedly"),
    "wrapped-by-the-store": _wrapped(psycopg.OperationalError("connection refused")),
    "nats-closed": nats_errors.ConnectionClosedError(),
    "nats-timeout": nats_errors.TimeoutError(),
    "a-bug": ValueError("not an outage"),
}


@get("/fail/{name:str}", sync_to_thread=False)
def fail(name: str) -> None:
    raise FAILURES[name]


@pytest.fixture(scope="module")
def client():
    with TestClient(Litestar([fail], exception_handlers=EXCEPTION_HANDLERS)) as client:
        yield client


@pytest.mark.parametrize("name", [n for n in FAILURES if n != "a-bug"])
def test_hardening_outage_answers_503_not_ready_with_retry_after_however_wrapped(client, name):
    response = client.get(f"/fail/{name}")
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "not_ready"
    assert int(response.headers["Retry-After"]) > 0


def test_a_bug_is_still_an_internal_error_without_retry_after(client):
    response = client.get("/fail/a-bug")
    assert response.status_code == 500 and response.json()["code"] == "internal_error"
    assert "Retry-After" not in response.headers

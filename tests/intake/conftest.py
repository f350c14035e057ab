"""intake's HTTP app in-process (litestar's TestClient) over the real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from litestar.testing import TestClient

from helpdesk_intake.bootstrap import create_app
from helpdesk_intake.settings import IntakeSettings
from tests.support.desk import Desk, provision
from tests.support.tokens import session_keys_dir
from tests.support.processes import ADMIN_TOKEN, FAST_PASSWORDS


def intake_worker(database_url: str, nats_url: str, **settings_given: Any) -> TestClient:
    """One intake app in-process (a worker) over the test's PostgreSQL and NATS; enter it to start it."""
    settings = IntakeSettings(database_url=database_url, nats_url=nats_url, admin_token=ADMIN_TOKEN,
                              jwt_keys_dir=str(session_keys_dir()), **FAST_PASSWORDS, **settings_given)
    return TestClient(create_app(settings))


@pytest.fixture
def client(database_url: str, nats_url: str) -> Iterator[TestClient]:
    with intake_worker(database_url, nats_url) as test_client:
        yield test_client


@pytest.fixture
def desk(client: TestClient) -> Desk:
    return provision(client)


@pytest.fixture
def event_count(database_url: str):
    """How many events the store holds now (to prove that a refused command wrote nothing)."""
    def count() -> int:
        with psycopg.connect(database_url) as conn:
            return conn.execute("SELECT count(*) FROM intake.intake_events").fetchone()[0]
    return count

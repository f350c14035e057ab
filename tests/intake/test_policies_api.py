"""Policies as events over intake's HTTP API (CONTRACT §5, issue #13), on the real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import uuid
from concurrent.futures import ThreadPoolExecutor

from litestar.testing import TestClient

from helpdesk_intake.bootstrap import create_app
from helpdesk_intake.settings import IntakeSettings
from tests.intake.test_bad_input import assert_problem
from tests.support.desk import Desk
from tests.support.processes import ADMIN_TOKEN, FAST_PASSWORDS
from tests.support.policies import policy_document
from tests.support.tokens import session_keys_dir

TOML = {"Content-Type": "application/toml"}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def document(policy_id: str, resolution: str = "3bd") -> str:
    """A small valid policy: working days 09-18 Moscow, a resolution target."""
    return policy_document(policy_id, resolution)


def publish(client: TestClient, headers: dict, text: str) -> dict:
    response = client.post("/v1/policies", content=text.encode(), headers={**headers, **TOML})
    assert response.status_code in (200, 201), response.text
    return response.json()


def test_policies_as_events_an_admin_publishes_versions_that_readers_list_and_read(desk: Desk) -> None:
    policy_id = f"contract-{uuid.uuid4().hex[:8]}"
    first = publish(desk.client, desk.admin, document(policy_id))
    assert (first["id"], first["version"], first["by"]) == (policy_id, 1, "admin")
    second = publish(desk.client, desk.admin, document(policy_id, "5bd"))
    assert second["version"] == 2
    for reader in (desk.admin, desk.auditor, desk.agent):
        listed = {p["id"]: p for p in desk.client.get("/v1/policies", headers=reader).json()["items"]}
        assert listed[policy_id] == {**{k: second[k] for k in ("id", "version", "published_at", "by")},
                                     "name": f"Contract {policy_id}", "timezone": "Europe/Moscow"}
        got = desk.client.get(f"/v1/policies/{policy_id}", headers=reader).json()
        assert (got["version"], got["document"]) == (2, document(policy_id, "5bd"))
    assert {"medis", "telemed", "keysystems", "endocs", "imc"} <= set(listed)  # the presets, imported at start
    assert desk.client.get(f"/v1/policies/{policy_id}", headers=desk.customer).status_code == 403
    refused = desk.client.post("/v1/policies", content=document("x").encode(), headers={**desk.agent, **TOML})
    assert_problem(refused, 403, "forbidden")


def test_policies_as_events_an_invalid_document_lists_every_error_by_field_and_writes_nothing(
        desk: Desk, event_count) -> None:
    bad = document(f"bad-{uuid.uuid4().hex[:8]}").replace('name = "Contract', 'colour = "red"\nnamez = "x') \
        .replace('resolution = "3bd"', 'resolution = "three days"') + '\npause_statuses = ["done"]\n'
    events = event_count()
    body = assert_problem(desk.client.post("/v1/policies", content=bad.encode(), headers={**desk.admin, **TOML}),
                          422, "validation_failed")
    fields = {error["field"] for error in body["errors"]}
    assert {"colour", "namez", "name", "targets[0].resolution"} <= fields, body["errors"]
    assert event_count() == events
    broken = assert_problem(desk.client.post("/v1/policies", content=b"id = [", headers={**desk.admin, **TOML}),
                            422, "validation_failed")
    assert broken["errors"][0]["field"] == "document"
    assert_problem(desk.client.post("/v1/policies", json={"id": "x"}, headers=desk.admin), 415,
                   "unsupported_media_type")
    assert event_count() == events


def test_policies_as_events_publishing_the_version_in_force_writes_nothing(desk: Desk, event_count) -> None:
    policy_id = f"same-{uuid.uuid4().hex[:8]}"
    first = publish(desk.client, desk.admin, document(policy_id))
    events = event_count()
    again = desk.client.post("/v1/policies", content=document(policy_id).encode(), headers={**desk.admin, **TOML})
    assert again.status_code == 200 and again.json() == first
    assert event_count() == events


def test_policies_as_events_as_of_answers_the_version_in_force_then(desk: Desk) -> None:
    policy_id = f"asof-{uuid.uuid4().hex[:8]}"
    first = publish(desk.client, desk.admin, document(policy_id))
    second = publish(desk.client, desk.admin, document(policy_id, "4bd"))
    at_first = dt.datetime.fromisoformat(first["published_at"])
    at_second = dt.datetime.fromisoformat(second["published_at"])
    assert at_first < at_second

    def as_of(instant: dt.datetime):
        return desk.client.get(f"/v1/policies/{policy_id}", params={"as_of": instant.isoformat()},
                               headers=desk.auditor)

    assert as_of(at_first).json()["version"] == 1
    assert as_of(at_first + (at_second - at_first) / 2).json()["document"] == document(policy_id)
    assert as_of(at_second).json()["version"] == 2
    assert_problem(as_of(at_first - dt.timedelta(seconds=1)), 404, "not_found")
    assert_problem(desk.client.get(f"/v1/policies/{policy_id}", params={"as_of": "yesterday"},
                                   headers=desk.auditor), 400, "validation_failed")
    assert_problem(desk.client.get("/v1/policies/no-such-policy", headers=desk.admin), 404, "not_found")


def test_policies_as_events_imports_are_idempotent_across_restarts_and_replicas(
        database_url: str, nats_url: str, tmp_path, event_count) -> None:
    (tmp_path / "contract.toml").write_text(document("replicated"))
    settings = IntakeSettings(database_url=database_url, nats_url=nats_url, admin_token=ADMIN_TOKEN,
                              jwt_keys_dir=str(session_keys_dir()), policy_dir=str(tmp_path), **FAST_PASSWORDS)
    with TestClient(create_app(settings)) as first:
        got = first.get("/v1/policies/replicated", headers=ADMIN).json()
        assert (got["version"], got["by"]) == (1, "service:intake")
    events = event_count()
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as other:  # a restart, twice
        assert event_count() == events
        text = document("raced", "7bd").encode()
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda c: c.post("/v1/policies", content=text, headers={**ADMIN, **TOML}),
                                    [one, other] * 4))
        assert sorted(a.status_code for a in answers) == [200] * 7 + [201]
        assert event_count() == events + 2  # registered and published, once
        assert other.get("/v1/policies/raced", headers=ADMIN).json()["version"] == 1


def test_policies_as_events_a_published_policy_is_in_force_on_intake_at_once(desk: Desk) -> None:
    policy_id = f"fresh-{uuid.uuid4().hex[:8]}"
    customer = {"name": "Early", "email": f"it@{policy_id}.test", "policy": policy_id}
    registered = desk.client.post("/v1/customers", json=customer, headers=desk.admin)
    assert_problem(registered, 422, "validation_failed")  # no such policy yet
    publish(desk.client, desk.admin, document(policy_id))
    registered = desk.client.post("/v1/customers", json=customer, headers=desk.admin)
    assert registered.status_code == 201, registered.text


def test_policies_as_events_validate_is_a_dry_run_with_every_error_by_field_or_a_summary(
        desk: Desk, event_count) -> None:
    policy_id = f"dry-{uuid.uuid4().hex[:8]}"
    events = event_count()
    bad = document(policy_id).replace('resolution = "3bd"', 'resolution = "three days"') \
        + '[[targets]]\nrules = ["med6"]\n'
    body = assert_problem(desk.client.post("/v1/policies/validate", content=bad.encode(),
                                           headers={**desk.admin, **TOML}), 422, "validation_failed")
    assert {"targets[0].resolution", "targets[1].rules[0]"} <= {e["field"] for e in body["errors"]}, body
    new = desk.client.post("/v1/policies/validate", content=document(policy_id).encode(), headers={**desk.admin, **TOML})
    assert new.status_code == 200 and new.json()["version_in_force"] is None and new.json()["changes"] is True
    assert (new.json()["id"], new.json()["timezone"]) == (policy_id, "Europe/Moscow")
    assert event_count() == events  # nothing written
    publish(desk.client, desk.admin, document(policy_id))
    same = desk.client.post("/v1/policies/validate", content=document(policy_id).encode(),
                            headers={**desk.admin, **TOML}).json()
    assert (same["version_in_force"], same["changes"]) == (1, False)
    assert_problem(desk.client.post("/v1/policies/validate", content=document(policy_id).encode(),
                                    headers={**desk.agent, **TOML}), 403, "forbidden")
    assert_problem(desk.client.post("/v1/policies/validate", json={"id": "x"}, headers=desk.admin), 415,
                   "unsupported_media_type")


def test_policies_as_events_every_version_is_listed_with_who_and_when_and_read_by_number(desk: Desk) -> None:
    policy_id = f"versions-{uuid.uuid4().hex[:8]}"
    first = publish(desk.client, desk.admin, document(policy_id))
    second = publish(desk.client, desk.admin, document(policy_id, "6bd"))
    listed = desk.client.get(f"/v1/policies/{policy_id}/versions", headers=desk.auditor).json()["items"]
    assert listed == [first, second]
    got = desk.client.get(f"/v1/policies/{policy_id}", params={"version": 1}, headers=desk.auditor).json()
    assert (got["version"], got["document"]) == (1, document(policy_id))
    assert_problem(desk.client.get(f"/v1/policies/{policy_id}", params={"version": 3}, headers=desk.admin),
                   404, "not_found")
    assert_problem(desk.client.get("/v1/policies/no-such-policy/versions", headers=desk.admin), 404, "not_found")
    for bad in ("0", "two"):
        assert_problem(desk.client.get(f"/v1/policies/{policy_id}", params={"version": bad}, headers=desk.admin),
                       400, "validation_failed")
    assert desk.client.get(f"/v1/policies/{policy_id}/versions", headers=desk.customer).status_code == 403


def test_policies_as_events_the_list_names_each_time_zone_and_a_customer_reads_its_own_policy(desk: Desk) -> None:
    listed = {p["id"]: p for p in desk.client.get("/v1/policies", headers=desk.agent).json()["items"]}
    assert (listed["telemed"]["timezone"], listed["telemed"]["name"]) == ("Europe/Moscow", "TelemedHelp")
    own = desk.client.get("/v1/policies", headers=desk.customer).json()["items"]
    assert [p["id"] for p in own] == [desk.policy] and own[0]["timezone"] == "Europe/Moscow"

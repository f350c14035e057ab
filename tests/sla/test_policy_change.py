"""CONTRACT §5: a changed policy re-applies to open tickets from their history (issue #5 item 5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from helpdesk_shared import directory_events as directory
from helpdesk_shared import sla_events as sla
from tests.sla.scenario import ADMIN, as_utc, msk
from tests.support.policies import policy_document
from tests.support.stream import read_all
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e]
MONDAY = msk(2026, 2, 2, 10, 0)  # a plain working week

def _policies(tmp_path: Path) -> str:
    folder = tmp_path / "policies"
    folder.mkdir()
    for name, resolution in (("standard", "3bd"), ("premium", "1bd")):
        (folder / f"{name}.toml").write_text(policy_document(name, resolution, name=name, holidays="RU"))
    return str(folder)


def _resolution(desk: Any, tid: str) -> list[sla.TargetSet]:
    return [f for f in desk.of(tid, sla.TargetSet) if f.kind == "resolution"]


def test_policy_change_replans_open_tickets_from_their_history(start_desk: Any, tmp_path: Path) -> None:
    desk = start_desk("standard", start=MONDAY, env={"HELPDESK_POLICY_DIR": _policies(tmp_path)})
    tid = desk.open()
    desk.act(tid, "accept")
    [standard] = _resolution(desk, tid)
    assert standard.policy == "standard" and as_utc(standard.due_at) == as_utc(msk(2026, 2, 5, 10, 0))

    desk.move_to(msk(2026, 2, 2, 12, 0))
    changed = desk.client.patch(f"/v1/customers/{desk.desk.customer_id}", json={"policy": "premium"},
                                headers=ADMIN)
    assert changed.status_code == 200, changed.text

    # intake publishes the change as a directory fact ...
    [message] = wait_until(lambda: read_all(desk.nats_url, "helpdesk.customer.*.policy_changed") or None,
                           timeout=10)
    fact = directory.decode(message.data).data
    assert isinstance(fact, directory.CustomerPolicyChanged)
    assert (fact.customer_id, fact.previous_policy, fact.policy) == (desk.desk.customer_id, "standard", "premium")

    # ... and the SLA re-evaluates the open ticket under the new policy, from its opening on
    premium = wait_until(lambda: [f for f in _resolution(desk, tid) if f.policy == "premium"] or None, timeout=10)
    assert as_utc(premium[-1].due_at) == as_utc(msk(2026, 2, 3, 10, 0))  # 1 bd from Monday 10:00
    desk.settle()

    desk.move_to(msk(2026, 2, 3, 10, 1))  # the premium deadline passed; the standard one is days away
    [breached] = desk.of(tid, sla.Breached)
    assert breached.policy == "premium" and breached.kind == "resolution"


def test_new_policy_applies_to_tickets_opened_after_the_change(start_desk: Any, tmp_path: Path) -> None:
    desk = start_desk("standard", start=MONDAY, env={"HELPDESK_POLICY_DIR": _policies(tmp_path)})
    changed = desk.client.patch(f"/v1/customers/{desk.desk.customer_id}", json={"policy": "premium"},
                                headers=ADMIN)
    assert changed.status_code == 200, changed.text
    tid = desk.open()
    desk.act(tid, "accept")
    [target] = _resolution(desk, tid)
    assert target.policy == "premium" and as_utc(target.due_at) == as_utc(msk(2026, 2, 3, 10, 0))


def test_policies_as_events_a_file_deployed_to_one_intake_replica_reaches_every_service(
        start_desk: Any, tmp_path: Path) -> None:
    """A policy file only one new intake replica has is published as a version (CONTRACT §5),
    so the SLA and the older replica follow it too: nothing is refused, the ticket is re-planned."""
    folder = _policies(tmp_path)
    desk = start_desk("standard", start=MONDAY, env={"HELPDESK_POLICY_DIR": folder})
    tid = desk.open()
    desk.act(tid, "accept")
    extra = tmp_path / "replica-only"
    extra.mkdir()
    for source in Path(folder).iterdir():
        (extra / source.name).write_text(source.read_text())
    (extra / "extra.toml").write_text(policy_document("extra", "2bd", name="extra", holidays="RU"))
    newer = desk.services.start("intake", "serve", env={"HELPDESK_POLICY_DIR": str(extra), "HELPDESK_CLOCK": "simulated"})
    with httpx.Client(base_url=newer.url, timeout=30) as client:
        changed = client.patch(f"/v1/customers/{desk.desk.customer_id}", json={"policy": "extra"}, headers=ADMIN)
        assert changed.status_code == 200, changed.text
    desk.settle()
    # the older replica never had the file, yet knows the published version: no refusal
    wait_until(lambda: desk.client.post(f"/v1/tickets/{tid}/comments", json={"body": "any news?"},
                                        headers=desk.desk.customer).status_code == 201,
               timeout=10, message="the older intake replica follows the published version")
    desk.settle()
    wait_until(lambda: [f.policy for f in desk.of(tid, sla.TargetSet)][-1:] == ["extra"],
               timeout=10, message="the SLA re-plans the ticket under the published version")
"""Policies as events end to end (CONTRACT §5, issue #13): HELPDESK_POLICY_DIR imported by intake at start and
whenever a file changes, and a new version re-planning an open ticket on the running SLA service."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.sla.scenario import ADMIN, as_utc, msk
from tests.support.policies import policy_document
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.e2e]
POLICY_ID = "contract-by-file"


def contract(resolution: str) -> str:
    return policy_document(POLICY_ID, resolution, name="A contract kept in a ConfigMap")


def replace(path: Path, text: str) -> None:
    """Swap the file's content in one step, as a ConfigMap update swaps its symlink."""
    fresh = path.with_suffix(".new")
    fresh.write_text(text)
    os.replace(fresh, path)


def test_policies_as_events_a_changed_file_becomes_a_version_that_moves_the_deadline_without_restarts(
        start_desk: Any, tmp_path: Path) -> None:
    directory = tmp_path / "policies"
    directory.mkdir()
    replace(directory / "contract.toml", contract("3bd"))
    desk = start_desk(POLICY_ID, start=msk(2026, 2, 2, 10, 0), query=True,
                      env={"HELPDESK_POLICY_DIR": str(directory), "HELPDESK_POLICY_WATCH_SECONDS": "0.2"})

    def version() -> dict[str, Any]:
        response = desk.client.get(f"/v1/policies/{POLICY_ID}", headers=ADMIN)
        assert response.status_code == 200, response.text
        return response.json()

    assert (version()["version"], version()["by"]) == (1, "service:intake")  # imported at start
    tid = desk.open()
    desk.act(tid, "accept")
    assert resolution_due(desk, tid) == as_utc(msk(2026, 2, 5, 10, 0)).isoformat()  # 3 bd from Monday 10:00

    replace(directory / "contract.toml", contract("5bd"))
    wait_until(lambda: version()["version"] == 2, timeout=15, message="the changed file was not imported")
    assert version()["document"] == contract("5bd")
    assert resolution_due(desk, tid, moved_to=as_utc(msk(2026, 2, 9, 10, 0)).isoformat())  # 5 bd: next Monday

    replace(directory / "contract.toml", contract("five days"))
    wait_until(lambda: refused(desk) >= 1, timeout=15, message="the bad file was not refused")
    assert version()["version"] == 2  # the version in force stays


def resolution_due(desk: Any, tid: str, moved_to: str | None = None) -> str:
    """The resolution deadline the query service shows (waiting until it is ``moved_to``, when given)."""
    def due() -> str | None:
        response = httpx.get(f"{desk.query.url}/v1/tickets/{tid}", headers=desk.desk.agent, timeout=10)
        found = [t["due_at"] for t in response.json()["sla"]["targets"] if t["kind"] == "resolution"]
        return found[0] if found and found[0] and (moved_to is None or found[0] == moved_to) else None
    return wait_until(due, timeout=20, message=f"the resolution deadline never became {moved_to}")


def refused(desk: Any) -> float:
    metrics = desk.client.get("/metrics").text
    lines = [line for line in metrics.splitlines() if line.startswith("helpdesk_policy_files_refused_total ")]
    return float(lines[0].split()[1]) if lines else 0.0

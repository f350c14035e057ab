"""TEL-9 and END-5 end to end on the simulated clock: intake, relay, SLA, query and notify as real
processes. Deferral and a third party stop the executor's clocks (the deadline moves by the time
they stood still), a deferred ticket leaves the work queue, and the customer gets the mail with
the reason's label and the third party's name (SMTP catcher)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from helpdesk_shared import sla_events as sla
from tests.notify.mail import text_of
from tests.sla.scenario import as_utc, msk
from tests.support.policies import policy_document

pytestmark = [pytest.mark.e2e]

POLICY = policy_document(
    "deferring", "1bd", name="Deferral and third parties",
    settings='pause_statuses = ["awaiting_customer"]\nthird_party_pauses = true',
    tables="""
[[deferral_reasons]]
code = "cannot_reproduce"
label = { ru = "Не удалось воспроизвести", en = "Cannot reproduce" }
""")


def _resolution_due(desk: Any, tid: str) -> Any:
    return as_utc([f for f in desk.of(tid, sla.TargetSet) if f.kind == "resolution"][-1].due_at)


def test_tel9_end5_deferral_and_third_party_stop_the_clock_leave_the_queue_and_tell_the_customer(
        start_desk: Any, tmp_path: Path, smtp_catcher: Any) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "deferring.toml").write_text(POLICY)
    desk = start_desk("deferring", start=msk(2026, 2, 2, 9, 30), query=True,
                      env={"HELPDESK_POLICY_DIR": str(tmp_path / "policies")})
    desk.services.start("notify", "serve")
    query = httpx.Client(base_url=desk.query.url, headers=desk.desk.agent, timeout=10)
    tid = desk.open(subject="Касса")
    desk.move_to(msk(2026, 2, 2, 10, 0))
    desk.act(tid, "accept")
    assert _resolution_due(desk, tid) == as_utc(msk(2026, 2, 3, 10, 0))

    desk.move_to(msk(2026, 2, 2, 12, 0))
    desk.act(tid, "defer", reason="cannot_reproduce", comment="На тестовом стенде всё работает")
    assert desk.of(tid, sla.Paused)
    queue = query.get("/v1/tickets", params={"order": "queue"}).json()["items"]
    assert tid not in [t["id"] for t in queue]
    assert query.get(f"/v1/tickets/{tid}").json()["status"] == "deferred"
    deferred_mail = smtp_catcher.wait(2)[1]
    assert deferred_mail["Subject"].startswith("[#") and "Заявка отложена" in deferred_mail["Subject"]
    assert "Причина: Не удалось воспроизвести" in text_of(deferred_mail)

    desk.move_to(msk(2026, 2, 4, 12, 0))  # a day past the first due time: stood still, nothing breached
    assert not desk.of(tid, sla.Breached)
    desk.act(tid, "resume")
    assert desk.of(tid, sla.Resumed)
    assert _resolution_due(desk, tid) == as_utc(msk(2026, 2, 5, 10, 0))  # + 18 working hours deferred
    assert tid in [t["id"] for t in query.get("/v1/tickets", params={"order": "queue"}).json()["items"]]

    desk.move_to(msk(2026, 2, 4, 13, 0))
    desk.triage(tid, third_party={"party": "Банк-эквайер", "note": "ждём ответа по терминалу"})
    waiting = query.get("/v1/tickets", params={"third_party": "true"}).json()["items"]
    assert [(t["id"], t["third_party"]) for t in waiting] == [
        (tid, {"party": "Банк-эквайер", "note": "ждём ответа по терминалу"})]
    third_party_mail = smtp_catcher.wait(4)[3]
    assert "Банк-эквайер" in text_of(third_party_mail) and "ждём ответа" in text_of(third_party_mail)

    desk.move_to(msk(2026, 2, 5, 13, 0))  # past Thursday 10:00, the clock stood still again
    assert not desk.of(tid, sla.Breached)
    desk.triage(tid, third_party=None)
    assert _resolution_due(desk, tid) == as_utc(msk(2026, 2, 6, 10, 0))  # + 9 working hours waiting
    assert query.get(f"/v1/tickets/{tid}").json()["third_party"] is None
    assert query.get("/v1/tickets", params={"third_party": "true"}).json()["items"] == []
    assert "больше не ждёт" in smtp_catcher.wait(5)[4]["Subject"]

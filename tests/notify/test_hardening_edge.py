"""Issue #15 items 1, 3 and 11 reach notify's admin API too: the shared edge, on a real notify process."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.processes import ADMIN_TOKEN

pytestmark = [pytest.mark.e2e]


def test_hardening_notify_admin_api_refuses_bad_text_and_ids_with_problems_and_headers(services: Any) -> None:
    with httpx.Client(base_url=services.start("notify", "serve").url, timeout=10,
                      headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as notify:
        named = notify.put("/v1/admin/contacts/u1", json={"name": "Ann\x00", "email": "ann@acme.test"})
        assert (named.status_code, named.json()["errors"][0]["field"]) == (422, "name")
        assert notify.get("/v1/admin/contacts/u1").status_code == 404  # nothing was stored
        assert notify.put("/v1/admin/contacts/u%00", json={"email": "ann@acme.test"}).status_code == 404
        filtered = notify.get("/v1/admin/deliveries?ticket_id=%00")
        assert (filtered.status_code, filtered.json()["errors"][0]["field"]) == (422, "ticket_id")
        assert (filtered.headers["x-content-type-options"], filtered.headers["cache-control"]) == (
            "nosniff", "no-store")

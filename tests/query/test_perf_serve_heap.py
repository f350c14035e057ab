"""``helpdesk-query serve`` freezes its start-up heap, so full collections no longer walk it (#16 item 3)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = [pytest.mark.e2e]


def test_perf_query_serve_froze_its_start_up_heap_before_answering(services: Any) -> None:
    """Ready means started: the modules, the app, the pool and clients are in the permanent generation."""
    query = services.start("query", "serve")
    text = httpx.get(f"{query.url}/metrics", timeout=10).text
    frozen = [s.value for f in text_string_to_metric_families(text) if f.name == "helpdesk_gc_frozen_objects"
              for s in f.samples]
    assert frozen and frozen[0] > 50_000, frozen  # a started service holds a few hundred thousand objects

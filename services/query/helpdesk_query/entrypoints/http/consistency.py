"""Read-your-writes: ``Helpdesk-Min-Position: <n>`` holds a read until the read model has applied n."""

from __future__ import annotations

from typing import Any

from litestar import Request

from helpdesk_shared.web.problems import Problem

HEADER = "helpdesk-min-position"


async def wait_for_min_position(request: Request[Any, Any, Any]) -> None:
    """Litestar ``before_request``: wait (no polling) up to the app's timeout, then 504."""
    raw = request.headers.get(HEADER)
    if raw is None:
        return
    if not raw.strip().isdigit():
        raise Problem(400, "validation_failed", "Helpdesk-Min-Position must be a non-negative integer",
                      errors=[{"field": "Helpdesk-Min-Position", "message": "e.g. 42"}])
    state = request.app.state
    if not await state.watcher.wait_for(int(raw), state.min_position_timeout):
        raise Problem(504, "timeout", f"the read model has not reached position {int(raw)} within "
                      f"{state.min_position_timeout:g} s (it is at {state.watcher.position})",
                      position=state.watcher.position)

"""Read-your-writes: ``Helpdesk-Min-Position: <n>`` holds a read until the read model has applied n,
and the SLA facts n caused (the SLA's mark has passed n and the SLA projection has applied them)."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request

from helpdesk_shared.web.headers import header
from helpdesk_shared.web.problems import Problem

HEADER = "helpdesk-min-position"
_HEADER_BYTES = HEADER.encode()
PROBE_SECONDS = 0.25  # how often a wait asks the stream whether the position is one of no ticket event


async def wait_for_min_position(request: Request[Any, Any, Any]) -> None:
    """Litestar ``before_request``: wait up to the app's timeout, then 504.

    Woken by the projector as it applies positions; every quarter second it also asks the
    stream whether the position is one no ticket event will reach (``covered``).
    """
    raw = header(request.scope, _HEADER_BYTES)  # raw: litestar's ``request.headers`` is built per read
    if raw is None:
        return
    if not raw.strip().isdigit():
        raise Problem(400, "validation_failed", "Helpdesk-Min-Position must be a non-negative integer",
                      errors=[{"field": "Helpdesk-Min-Position", "message": "e.g. 42"}])
    state = request.app.state
    position, loop = int(raw), asyncio.get_running_loop()
    deadline = loop.time() + state.min_position_timeout
    while not await state.watcher.wait_for(position, max(0.0, min(PROBE_SECONDS, deadline - loop.time()))):
        if await state.covered(position):  # a position of no ticket event (a customer's, a mail's)
            return
        if loop.time() >= deadline:
            raise Problem(504, "timeout", f"the read model has not reached position {position} within "
                          f"{state.min_position_timeout:g} s (it is at {state.watcher.position})",
                          position=state.watcher.position)
    await _wait_for_sla(state, min(position, state.watcher.position), deadline)


async def _wait_for_sla(state: Any, position: int, deadline: float) -> None:
    """Hold the read until the SLA facts of every ticket event up to ``position`` are in the sla blocks.

    ``position`` is the newest ticket position the read needs (below n when n is a position of no
    ticket event). Without an SLA service (no mark ever published) there is nothing to wait for.
    """
    marks = state.sla_marks
    if not marks.seen:
        return
    loop = asyncio.get_running_loop()
    while not await marks.positions.wait_for(position, max(0.0, min(PROBE_SECONDS, deadline - loop.time()))):
        if loop.time() >= deadline:
            raise Problem(504, "timeout", f"the SLA facts of position {position} are not in the read model within "
                          f"{state.min_position_timeout:g} s (the SLA has published up to {marks.positions.position})",
                          position=state.watcher.position)
        await marks.refresh()  # should the watch have missed a mark (a NATS reconnect)
    if not await state.sla_watcher.wait_for(marks.stream_seq_for(position), max(0.0, deadline - loop.time())):
        raise Problem(504, "timeout", f"the SLA facts of position {position} are not in the read model within "
                      f"{state.min_position_timeout:g} s (projected up to stream sequence {state.sla_watcher.position})",
                      position=state.watcher.position)

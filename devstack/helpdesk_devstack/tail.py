"""`helpdesk-dev tail [SUBJECT]`: print the stream's CloudEvents as they arrive (or all of them).

A newcomer's window onto CONTRACT §8 without installing the nats CLI.
"""

from __future__ import annotations

import asyncio
import json

import nats
from helpdesk_shared.connections import nats_servers
from helpdesk_shared.settings import CommonSettings, from_env
from nats.js.api import DeliverPolicy


async def tail(subject: str, from_start: bool, limit: int | None) -> None:
    nc = await nats.connect(nats_servers(from_env(CommonSettings).nats_url))
    try:
        policy = DeliverPolicy.ALL if from_start else DeliverPolicy.NEW
        sub = await nc.jetstream().subscribe(subject, ordered_consumer=True, deliver_policy=policy)
        seen = 0
        while limit is None or seen < limit:
            try:
                msg = await sub.next_msg(timeout=3600)
            except nats.errors.TimeoutError:
                continue
            event = json.loads(msg.data)
            print(f"{msg.subject}  {json.dumps(event, ensure_ascii=False)}", flush=True)
            seen += 1
    finally:
        await nc.close()


def run(subject: str, from_start: bool, limit: int | None) -> int:
    try:
        asyncio.run(tail(subject, from_start, limit))
    except KeyboardInterrupt:
        pass
    return 0

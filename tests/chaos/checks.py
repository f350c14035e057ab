"""What must hold after the chaos: the store, the stream, the read model, the mail, the CPU.

Each check returns figures (and the evidence behind a failure) rather than asserting, so
the test can print every figure before it fails on the first broken promise.
"""

from __future__ import annotations

import collections
import contextlib
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field

import psycopg
from helpdesk_devstack import SmtpCatcher

from helpdesk_shared import subjects
from tests.chaos.load import Ack
from tests.support.crash import cpu_seconds, group_pids
from tests.support.stream import read_all
from tests.support.waiting import wait_until

TICKET_NUMBER = re.compile(r"\[#(HD-\d+)\]")


def lost_commands(database_url: str, acks: list[Ack]) -> list[Ack]:
    """Acknowledged commands whose last event is not in intake's store (or belongs to another ticket)."""
    with psycopg.connect(database_url) as conn:
        rows = dict(conn.execute(
            "SELECT notification_id, originator_id::text FROM intake.intake_events"
            " WHERE notification_id = ANY(%s)", ([a.position for a in acks],)).fetchall())
    return [a for a in acks if a.position not in rows
            or (a.kind in ("open", "comment", "accept") and rows[a.position] != a.ticket_id)]


@dataclass
class StreamFigures:
    messages: int
    duplicated: list[str]  # Nats-Msg-Ids (or positions) seen more than once
    out_of_order: list[tuple[int, int]]  # (previous position, this position)
    missing: list[Ack]  # acknowledged, yet never published


def stream_figures(nats_url: str, acks: list[Ack]) -> StreamFigures:
    """The relay's messages in stream order: each store event once, positions rising."""
    relayed = [m for m in read_all(nats_url, "helpdesk.>")
               if subjects.family(m.subject) != "sla"]
    ids = collections.Counter(m.headers.get("Nats-Msg-Id") for m in relayed)
    positions = [int(m.headers["Helpdesk-Position"]) for m in relayed]
    repeated = collections.Counter(positions)
    duplicated = [i for i, n in ids.items() if n > 1] + [str(p) for p, n in repeated.items() if n > 1]
    out_of_order = [(a, b) for a, b in zip(positions, positions[1:]) if b <= a]
    published = set(positions)
    return StreamFigures(len(relayed), duplicated, out_of_order,
                         [a for a in acks if a.position not in published])


def query_command(env: dict[str, str], *args: str) -> str:
    """Run ``helpdesk-query <args>`` to completion; its last line of output."""
    done = subprocess.run([sys.executable, "-m", "helpdesk_query", *args], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, f"helpdesk-query {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout.strip().splitlines()[-1]


def read_model_equals_rebuild(env: dict[str, str]) -> tuple[str, str]:
    """The live read model's checksum, and the checksum after a rebuild from the stream (which creates
    schemas, so it runs as the migration role)."""
    live = query_command(env, "checksum")
    query_command({**env, "HELPDESK_DATABASE_URL": env["HELPDESK_MIGRATION_DATABASE_URL"]}, "rebuild", "--no-progress")
    return live, query_command(env, "checksum")


@dataclass
class MailFigures:
    received: int
    lost: list[str] = field(default_factory=list)  # Message-IDs / ticket numbers never delivered
    duplicated: list[str] = field(default_factory=list)  # copies no in-doubt send explains
    in_doubt_resends: int = 0
    unsent: list[tuple[str, str]] = field(default_factory=list)  # (message_id, state) still in the outbox


def mail_figures(database_url: str, catcher: SmtpCatcher, acks: list[Ack]) -> MailFigures:
    """Mails at the catcher against notify's outbox, and every opened ticket's acknowledgement."""
    with psycopg.connect(database_url) as conn:
        outbox = conn.execute("SELECT message_id, state, in_doubt FROM notify.outbox").fetchall()
    arrived = collections.Counter(str(m["Message-ID"]) for m in catcher.messages())
    subjects_seen = {n for m in catcher.messages() for n in TICKET_NUMBER.findall(str(m["Subject"]))}
    figures = MailFigures(sum(arrived.values()))
    figures.unsent = [(mid, state) for mid, state, _ in outbox if state != "sent"]
    for message_id, state, in_doubt in outbox:
        copies = arrived.get(message_id, 0) - 1
        if state == "sent" and copies < 0:
            figures.lost.append(message_id)
        figures.in_doubt_resends += max(0, min(copies, in_doubt))
        figures.duplicated += [message_id] * max(0, copies - in_doubt)
    known = {mid for mid, _, _ in outbox}
    figures.duplicated += [mid for mid in arrived if mid not in known]  # not from notify at all
    opened = {a.number for a in acks if a.kind in ("open", "mail") and a.number}
    figures.lost += sorted(opened - subjects_seen)
    return figures


def wait_mail_settled(database_url: str, timeout: float) -> None:
    """Until notify's outbox has nothing pending or in flight (bounded)."""
    def settled() -> bool:
        with psycopg.connect(database_url) as conn:
            (left,) = conn.execute(
                "SELECT count(*) FROM notify.outbox WHERE state IN ('pending', 'sending')").fetchone()
        return not left

    with contextlib.suppress(TimeoutError):  # still pending then: the mail checks that follow say so
        wait_until(settled, timeout=timeout, interval=0.5)


def busy_processes(leaders: dict[str, int], window: float = 3.0, limit: float = 0.1) -> dict[str, float]:
    """The processes (with their workers) using more than ``limit`` of a core over ``window`` s."""
    pids = {name: group_pids(leader) or [leader] for name, leader in leaders.items()}
    before = {name: sum(cpu_seconds(p) for p in group) for name, group in pids.items()}
    time.sleep(window)  # a measurement window, not a wait for a condition
    used = {name: (sum(cpu_seconds(p) for p in group) - before[name]) / window
            for name, group in pids.items()}
    return {name: round(share, 3) for name, share in used.items() if share > limit}

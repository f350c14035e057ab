"""SQL of the SLA's copy of the vendor's releases (IMC-9), kept from the release facts.

Every function runs in the caller's transaction, like ``store``'s.
"""

from __future__ import annotations

import datetime as dt

from helpdesk_shared.policies.releases import ReleaseDate

from helpdesk_sla.adapters.schema import SCHEMA
from helpdesk_sla.adapters.store import Conn


async def save(conn: Conn, release_id: str, *, kind: str | None = None, date: dt.date | None = None) -> None:
    """A planned release (``kind`` and ``date``), or a known one's new date."""
    if kind is not None:
        await conn.execute(f"INSERT INTO {SCHEMA}.releases (release_id, kind, date) VALUES (%s, %s, %s)"
                           " ON CONFLICT (release_id) DO UPDATE SET date = EXCLUDED.date", (release_id, kind, date))
    else:
        await conn.execute(f"UPDATE {SCHEMA}.releases SET date = %s WHERE release_id = %s", (date, release_id))


async def known(conn: Conn) -> list[ReleaseDate]:
    """Every release, soonest first (a vendor plans a few a month: the whole list is small)."""
    cursor = await conn.execute(f"SELECT release_id, kind, date FROM {SCHEMA}.releases ORDER BY date, release_id")
    return [ReleaseDate(r[0], r[1], r[2]) for r in await cursor.fetchall()]


async def bound_tickets(conn: Conn) -> list[str]:
    """Open tickets with a release-bound target (bound or unplanned): a change of releases may move them."""
    cursor = await conn.execute(
        f"SELECT ticket_id FROM {SCHEMA}.tickets WHERE open AND jsonb_path_exists("
        " convert_from(announced, 'UTF8')::jsonb, '$.targets.* ? (@.release != null && @.stopped_at == null)')")
    return [r[0] for r in await cursor.fetchall()]

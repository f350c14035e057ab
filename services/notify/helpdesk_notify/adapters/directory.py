"""Recipients' addresses: the ``Directory`` port's adapter, over notify's copy of intake's directory.

``notify.directory`` is filled by the projection from ``helpdesk.user.*.registered`` and
``helpdesk.customer.*.registered`` (``record``) and kept current from their later changes
(``change``: contacts, languages, blocks, deactivations), so nobody provisions contacts by hand.
``notify.contacts`` holds an admin's overrides (``PUT /v1/admin/contacts/{id}``): each field set there wins
over the directory's. A mail's language is the first of: the override's, the user's own
choice, the customer's override, the customer's default; Russian otherwise.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from helpdesk_shared import directory_events as directory

from helpdesk_notify.adapters.schema import SCHEMA
from helpdesk_notify.application import Contact
from helpdesk_notify.domain.recipients import DirectoryEntry, Staff

DEFAULT_LANGUAGE = "ru"
_MERGED = f"""
SELECT ids.id AS user_id, coalesce(o.email, d.email) AS email,
       coalesce(nullif(o.name, ''), d.name, '') AS name,
       coalesce(o.language, d.language, c.language, dc.language, '{DEFAULT_LANGUAGE}') AS language,
       CASE WHEN d.deactivated THEN 'deactivated' WHEN d.blocked THEN 'blocked' END AS inactive,
       d.id IS NOT NULL AS in_directory, o.user_id IS NOT NULL AS overridden,
       o.email AS override_email, o.name AS override_name, o.language AS override_language
FROM unnest(%s::text[]) AS ids(id)
LEFT JOIN {SCHEMA}.directory d ON d.id = ids.id
LEFT JOIN {SCHEMA}.contacts o ON o.user_id = ids.id
LEFT JOIN {SCHEMA}.contacts c ON c.user_id = d.customer_id
LEFT JOIN {SCHEMA}.directory dc ON dc.id = d.customer_id
"""
_RECORD = (f"INSERT INTO {SCHEMA}.directory (id, kind, email, name, role, customer_id, department, position)"
           " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind,"
           " email = EXCLUDED.email, name = EXCLUDED.name, role = EXCLUDED.role,"
           " customer_id = EXCLUDED.customer_id, department = EXCLUDED.department,"
           " position = EXCLUDED.position")
_PUT = (f"INSERT INTO {SCHEMA}.contacts (user_id, email, name, language) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (user_id) DO UPDATE SET email = EXCLUDED.email, name = EXCLUDED.name,"
        " language = EXCLUDED.language, updated_at = now()")


class ContactsTable:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def lookup(self, user_ids: Collection[str]) -> dict[str, Contact]:
        """The contacts of those ids that have an address (from the directory or an override)."""
        rows = await self._merged(list(user_ids))
        return {r["user_id"]: Contact(r["user_id"], r["email"], r["name"], r["language"], r["inactive"])
                for r in rows if r["email"]}

    async def get(self, user_id: str) -> dict[str, Any] | None:
        """The contact as mail uses it, with what the directory and the override each say; None if unknown."""
        [row] = await self._merged([user_id])
        if not (row["in_directory"] or row["overridden"]):
            return None
        override = ({"email": row["override_email"], "name": row["override_name"] or None,
                     "language": row["override_language"]} if row["overridden"] else None)
        return {"user_id": user_id, "email": row["email"], "name": row["name"], "language": row["language"],
                "in_directory": row["in_directory"], "override": override}

    async def put(self, user_id: str, email: str | None, name: str | None, language: str | None) -> None:
        """Replace the admin's override for ``user_id`` (a field left None is not overridden)."""
        async with self._pool.connection() as conn:
            await conn.execute(_PUT, (user_id, email, name, language))

    async def delete(self, user_id: str) -> bool:
        """Drop the override: the directory's values apply again."""
        async with self._pool.connection() as conn:
            cursor = await conn.execute(f"DELETE FROM {SCHEMA}.contacts WHERE user_id = %s", (user_id,))
            return cursor.rowcount > 0

    async def _merged(self, user_ids: list[str]) -> list[dict[str, Any]]:
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(_MERGED, (user_ids,))
            return await cur.fetchall()


async def record(cur: psycopg.AsyncCursor[Any], entries: Iterable[DirectoryEntry], position: int) -> None:
    """Upsert directory entries learnt from facts, in the projection's transaction."""
    await cur.executemany(_RECORD, [
        (e.id, e.kind, e.email, e.name, e.role, e.customer_id, e.department, position) for e in entries])


async def change(cur: psycopg.AsyncCursor[Any], facts: Iterable[directory.DirectoryFact]) -> None:
    """Apply later directory changes (a language, contacts, a block), in order, in the projection's transaction."""
    for fact in facts:
        match fact:
            case directory.UserLanguageChanged() | directory.CustomerLanguageChanged():
                await cur.execute(f"UPDATE {SCHEMA}.directory SET language = %s WHERE id = %s",
                                  (fact.language, directory.subject_id(fact)))
            case directory.UserBlocked() | directory.UserUnblocked():
                await cur.execute(f"UPDATE {SCHEMA}.directory SET blocked = %s WHERE id = %s",
                                  (isinstance(fact, directory.UserBlocked), fact.user_id))
            case directory.UserDeactivated() | directory.UserReactivated():
                await cur.execute(f"UPDATE {SCHEMA}.directory SET deactivated = %s WHERE id = %s",
                                  (isinstance(fact, directory.UserDeactivated), fact.user_id))
            case directory.UserContactChanged():
                await cur.execute(f"UPDATE {SCHEMA}.directory SET email = %s, name = %s WHERE id = %s",
                                  (fact.email, fact.name, fact.user_id))


async def ask_staff(conn: psycopg.AsyncConnection[Any]) -> psycopg.AsyncCursor[Any]:
    """Every member of staff the directory knows, for SLA warnings nobody holds (IMC-8): the query sent, its
    rows read by ``staff_of`` (so that in pipeline mode they come with the batch's other reads)."""
    return await conn.execute(f"SELECT id, kind, email, name, role, customer_id, department FROM {SCHEMA}.directory"
                              " WHERE customer_id IS NULL AND role IN ('agent', 'admin')")


async def staff_of(cursor: psycopg.AsyncCursor[Any]) -> Staff:
    staff = Staff()
    for row in await cursor.fetchall():
        staff.add(DirectoryEntry(id=row[0], kind=row[1], email=row[2], name=row[3], role=row[4],
                                 customer_id=row[5], department=row[6]))
    return staff

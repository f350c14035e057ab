"""Recipients' addresses: the ``Directory`` port's one adapter, contacts kept by an admin.

intake's public events carry no addresses yet, so v1 keeps ``notify.contacts``
filled through ``PUT /v1/admin/contacts/{user_id}``. When intake publishes customer
and user events, a projection of them replaces this adapter and nothing else.
"""

from __future__ import annotations

from collections.abc import Collection

from psycopg_pool import AsyncConnectionPool

from helpdesk_notify.adapters.schema import SCHEMA
from helpdesk_notify.application import Contact


class ContactsTable:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def lookup(self, user_ids: Collection[str]) -> dict[str, Contact]:
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(
                f"SELECT user_id, email, name, language FROM {SCHEMA}.contacts WHERE user_id = ANY(%s)",
                (list(user_ids),))).fetchall()
        return {row[0]: Contact(*row) for row in rows}

    async def put(self, contact: Contact) -> Contact:
        async with self._pool.connection() as conn:
            await conn.execute(
                f"INSERT INTO {SCHEMA}.contacts (user_id, email, name, language) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (user_id) DO UPDATE SET email = EXCLUDED.email, name = EXCLUDED.name,"
                " language = EXCLUDED.language, updated_at = now()",
                (contact.user_id, contact.email, contact.name, contact.language))
        return contact

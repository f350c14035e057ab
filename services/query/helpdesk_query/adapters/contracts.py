"""Customers' contract histories, kept from the ``helpdesk.customer.>`` facts of the stream.

Caught up on demand (only when an hours report lacks a customer's month): one direct get says
whether a fact was published since the last catch-up, and only then a short-lived consumer reads them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

import msgspec
from nats.js.errors import NotFoundError

from helpdesk_shared import directory_events as directory
from helpdesk_shared import subjects

from helpdesk_query.adapters.eventstore import EventStream
from helpdesk_query.domain.contracts import Terms, fold

CUSTOMERS = f"{subjects.CUSTOMER_PREFIX}.>"


class ContractBook:
    """Every customer's terms over time, as far as the stream has told so far."""

    def __init__(self, stream: EventStream) -> None:
        self._stream = stream
        self._next_seq = 1
        self._histories: dict[str, list[Terms]] = {}
        self._lock = asyncio.Lock()

    async def histories(self) -> Mapping[str, Sequence[Terms]]:
        """The histories, caught up with every customer fact published until now."""
        async with self._lock:
            if not await self._anything_new():
                return self._histories  # nothing new: one direct get instead of a consumer
            async with self._stream.reader(CUSTOMERS, self._next_seq) as reader:
                async for batch in reader.batches():
                    for message in batch:
                        self._next_seq = message.stream_seq + 1
                        try:
                            fold(self._histories, directory.decode(message.payload).data)
                        except (msgspec.DecodeError, msgspec.ValidationError):
                            continue  # not a fact of a type this version knows: it names no contract
            return self._histories

    async def _anything_new(self) -> bool:
        try:
            await self._stream.js.get_msg(subjects.STREAM, seq=self._next_seq, subject=CUSTOMERS, next=True)
        except NotFoundError:
            return False
        return True

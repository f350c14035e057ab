"""Customers' contract histories, kept from the ``helpdesk.customer.>`` facts of the stream.

Caught up on demand (only when an hours report lacks a customer's month): each catch-up reads
just the facts published since the last one, so a report costs one short-lived consumer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

import msgspec

from helpdesk_shared import directory_events as directory
from helpdesk_shared import subjects

from helpdesk_query.adapters.eventstore import EventStream
from helpdesk_query.domain.contracts import Terms, fold


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
            async with self._stream.reader(f"{subjects.CUSTOMER_PREFIX}.>", self._next_seq) as reader:
                async for batch in reader.batches():
                    for message in batch:
                        self._next_seq = message.stream_seq + 1
                        try:
                            fold(self._histories, directory.decode(message.payload).data)
                        except (msgspec.DecodeError, msgspec.ValidationError):
                            continue  # not a fact of a type this version knows: it names no contract
            return self._histories

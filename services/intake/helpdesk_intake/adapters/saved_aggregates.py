"""The aggregates this worker just saved, lent without a read while no one else can have written them.

eventsourcing's aggregate cache fast-forwards every hit: a query for newer events, per command
(about a tenth of a worker's CPU). Instead, each batch of the group commit also learns, in
its own transaction and round trip, which aggregates other writers (other workers, replicas)
saved since this worker's previous batch (eventstore.OtherWriters): the store numbers events
in commit order under a table lock, so that list is complete up to the batch. An aggregate
this worker saved since, that no one else wrote, is current — unless another writer wrote it
after the last batch; so the knowledge is used only while batches are recent (``window``).
A stale copy is harmless anyway: a command that writes the aggregate collides on its
(originator_id, originator_version) at commit and is re-decided on a fresh read, and one that
writes nothing on it is re-decided at once (application/service.py).
"""

from __future__ import annotations

import contextlib
import copy
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import Repository
from eventsourcing.persistence import Recording

TRUST_WINDOW = 0.1  # seconds since the last batch within which the worker's knowledge of other writers holds


class SavedAggregates:
    """Puts what a command saved in the repository's cache and says when that copy is current."""

    def __init__(self, repository: Repository[Any], window: float = TRUST_WINDOW, size: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.window, self._repository, self._size, self._clock = window, repository, size, clock
        self._saved: OrderedDict[UUID, tuple[int, int]] = OrderedDict()  # id → (version, notification id)
        self._others: OrderedDict[UUID, int] = OrderedDict()  # id → another writer's newest notification id
        self._gap_before: int | None = None  # the first notification id after writes not known of
        self._last_id: int | None = None
        self._last_batch_at = -float("inf")
        self._lock = threading.Lock()

    @property
    def since(self) -> int | None:
        """The notification id after which the next batch should ask for other writers' aggregates."""
        return self._last_id

    def batch_committed(self, first_id: int, last_id: int, others: dict[UUID, int] | None) -> None:
        """The group commit landed one batch with these notification ids (one batch at a time: in order);
        ``others``: the aggregates others wrote since the previous batch, None if not known."""
        with self._lock:
            if others is None or self._last_id is None:
                if self._last_id is None or first_id != self._last_id + 1:
                    self._gap_before = first_id
            else:
                for aggregate_id, notification_id in others.items():
                    self._others[aggregate_id] = notification_id
                    self._others.move_to_end(aggregate_id)
                while len(self._others) > self._size:
                    self._others.popitem(last=False)
            self._last_id, self._last_batch_at = last_id, self._clock()

    def remember(self, aggregates: Sequence[Any], recordings: Sequence[Recording[Any]]) -> None:
        """Cache the aggregates a commit saved (so a fast-forward reads nothing) and note their positions."""
        positions = {r.notification.originator_id: r.notification.id for r in recordings}
        cache = self._repository.cache
        for aggregate in aggregates:
            if cache is None or aggregate.id not in positions:
                continue
            with self._fastforward_lock(aggregate.id):
                try:
                    newer = cache.get(aggregate.id).version >= aggregate.version
                except KeyError:
                    newer = False
                if not newer:
                    cache.put(aggregate.id, aggregate)
            with self._lock:
                self._saved[aggregate.id] = (aggregate.version, positions[aggregate.id])
                self._saved.move_to_end(aggregate.id)
                if len(self._saved) > self._size:
                    self._saved.popitem(last=False)

    def current_copy(self, aggregate_id: UUID) -> Any | None:
        """A copy of the aggregate as this worker saved it, if no other writer can have written it since."""
        with self._lock:
            saved = self._saved.get(aggregate_id)
            if (saved is None or self._gap_before is None or saved[1] < self._gap_before
                    or self._others.get(aggregate_id, 0) > saved[1]
                    or self._clock() - self._last_batch_at > self.window):
                return None
        cache = self._repository.cache
        with self._fastforward_lock(aggregate_id):
            try:
                aggregate = cache.get(aggregate_id) if cache is not None else None
            except KeyError:
                return None
            return own_copy(aggregate) if aggregate is not None and aggregate.version >= saved[0] else None

    @contextlib.contextmanager
    def _fastforward_lock(self, aggregate_id: UUID) -> Iterator[None]:
        """The repository's own per-aggregate lock: its fast-forward mutates the cached object in place."""
        lock = self._repository._use_fastforward_lock(aggregate_id)  # noqa: SLF001
        try:
            with lock:
                yield
        finally:
            self._repository._disuse_fastforward_lock(aggregate_id)  # noqa: SLF001


def own_copy(aggregate: Any) -> Any:
    """A copy of a cached aggregate that the caller may change: the aggregate's own ``own_copy()`` where
    it has one (a ticket's is shallow: 14 µs where a deep copy took 400 on a busy test machine), else a deep copy."""
    copier = getattr(aggregate, "own_copy", None)
    return copier() if copier is not None else copy.deepcopy(aggregate)

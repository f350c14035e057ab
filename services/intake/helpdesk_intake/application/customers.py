"""Customers' policy and contract state, read on every command through a short-lived cache.

Every ticket command needs its customer's current policy (the rules that apply) and,
for a customer's user, whether the contract is active (MED-4). Reloading the
Customer aggregate each time costs a query per command; a change made in this
process is seen at once (``forget``), one made by another intake replica within
``ttl`` seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import NamedTuple

from helpdesk_intake.domain.customer import Customer


class Terms(NamedTuple):
    name: str
    policy: str
    active: bool
    monthly_hours: float | None = None  # the contract's norm-hours (MED-12)
    paid_support: bool = False  # END-7


class CustomerDirectory:
    def __init__(self, ttl: float = 1.0, size: int = 10_000) -> None:
        self._ttl = ttl
        self._size = size
        self._terms: dict[str, tuple[float, Terms]] = {}
        self._lock = threading.Lock()

    def terms(self, customer_id: str, load: Callable[[str], Customer]) -> Terms:
        """The customer's terms, from the cache while fresh, else from its aggregate."""
        hit = self._terms.get(customer_id)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        customer = load(customer_id)
        terms = Terms(customer.name, customer.policy, customer.active, customer.monthly_hours,
                      customer.paid_support)
        with self._lock:
            if len(self._terms) >= self._size:
                self._terms.clear()
            self._terms[customer_id] = (time.monotonic() + self._ttl, terms)
        return terms

    def forget(self, customer_id: str) -> None:
        with self._lock:
            self._terms.pop(customer_id, None)

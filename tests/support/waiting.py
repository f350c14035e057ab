"""Wait on a condition, never on a fixed sleep."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T], timeout: float = 10, interval: float = 0.05, message: str = ""
) -> T:
    """Call `predicate` until it returns something truthy; return that. TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(
                message or f"condition not met within {timeout} s: {_name(predicate)}"
            )
        time.sleep(interval)


async def async_wait_until(
    predicate: Callable[[], T | Awaitable[T]],
    timeout: float = 10,
    interval: float = 0.05,
    message: str = "",
) -> T:
    """`wait_until` for the event loop; `predicate` may be a plain or an async function."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise TimeoutError(
                message or f"condition not met within {timeout} s: {_name(predicate)}"
            )
        await asyncio.sleep(interval)


def _name(predicate: Callable[..., object]) -> str:
    return getattr(predicate, "__qualname__", repr(predicate))

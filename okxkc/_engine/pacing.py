"""Client-side pacing (``pacing=True``): keep each account under the exchange's
published per-op limits by waiting, inside the call's deadline, instead of letting
the exchange refuse.

Exchange-agnostic: the adapter says what a request costs against which limit
(:meth:`Adapter.pacing_costs`); this keeps, per account and limit key, a rolling
window of what was sent. A call whose wait would pass its deadline fails at once
with :class:`RateLimitError` (``sent`` False) and nothing is sent.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Hashable, Sequence

from ..errors import RateLimitError

__all__ = ["Cost", "Pacer"]

#: (limit key, units this request uses, units allowed per window, window seconds)
Cost = tuple[Hashable, int, int, float]


class Pacer:
    """Rolling windows of one account's sends, one per limit key."""

    #: Added to every window: the exchange counts a request when it arrives, a
    #: little after okxkc sent it, and arrival gaps can shrink in transit.
    MARGIN = 0.1

    def __init__(self) -> None:
        self._sent: dict[Hashable, collections.deque[tuple[float, int]]] = {}
        self._used: dict[Hashable, int] = {}

    def _wait(self, costs: Sequence[Cost], now: float) -> float:
        """Seconds until every cost fits its window (0: now)."""
        wait = 0.0
        for key, units, limit, window in costs:
            q = self._sent.get(key)
            if q is None:
                continue
            span = window + self.MARGIN
            used = self._used[key]
            while q and q[0][0] <= now - span:
                used -= q.popleft()[1]
            self._used[key] = used
            excess = used + min(units, limit) - limit
            if excess <= 0:
                continue
            freed = 0
            for sent_at, n in q:
                freed += n
                if freed >= excess:
                    wait = max(wait, sent_at + span - now)
                    break
        return wait

    def _take(self, costs: Sequence[Cost], now: float) -> None:
        for key, units, _limit, _window in costs:
            q = self._sent.get(key)
            if q is None:
                q = self._sent[key] = collections.deque()
                self._used[key] = 0
            q.append((now, units))
            self._used[key] += units

    async def acquire(self, costs: Sequence[Cost], deadline: float, op: str) -> None:
        """Wait until the request fits every limit, then count it as sent now."""
        while True:
            now = time.monotonic()
            wait = self._wait(costs, now)
            if wait <= 0:
                self._take(costs, now)
                return
            if now + wait > deadline:
                err = RateLimitError(
                    "pacing",
                    f"{op} was not sent: the exchange's rate limit leaves room for it only "
                    f"in {wait:.2f}s, after its deadline (pacing=True)",
                    op=op,
                    reset_ms=int(wait * 1000),
                    sent=False,
                )
                raise err
            await asyncio.sleep(wait)

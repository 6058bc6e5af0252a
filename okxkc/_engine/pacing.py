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
import math
import time
from collections.abc import Hashable, Sequence

from ..errors import RateLimitError

__all__ = ["Cost", "Pacer"]

#: (limit key, units this request uses, units allowed per window, window seconds)
Cost = tuple[Hashable, int, int, float]

_IN_FLIGHT = math.inf
#: How often a call waiting for an in-flight request's slot looks again (seconds).
_POLL = 0.01


class Pacer:
    """Rolling windows of one account's requests, one per limit key.

    A request holds its slot from the moment it is sent until ``window`` after it
    *ended* (its reply came, or the call gave up): the exchange counts it when it
    arrives, which is after the send and before the reply, so a slot measured from
    the reply is never released early, however late the request travelled.
    """

    #: Added to every window, for the granularity of the two clocks.
    MARGIN = 0.01

    def __init__(self) -> None:
        self._sent: dict[Hashable, collections.deque[list[float]]] = {}
        self._used: dict[Hashable, float] = {}

    def _wait(self, costs: Sequence[Cost], now: float) -> float:
        """Seconds until every cost fits its window (0: now)."""
        wait = 0.0
        for key, units, limit, window in costs:
            q = self._sent.get(key)
            if not q:
                continue
            cutoff = now - window - self.MARGIN
            while q and q[0][0] <= cutoff:
                self._used[key] -= q.popleft()[1]
            excess = self._used[key] + min(units, limit) - limit
            if excess <= 0:
                continue
            # Slots end in the order their requests ended, not in send order: drop every
            # expired one, then free the earliest-ending first.
            live = [e for e in q if e[0] > cutoff]
            if len(live) != len(q):
                q.clear()
                q.extend(live)
                self._used[key] = used = sum(e[1] for e in live)
                excess = used + min(units, limit) - limit
                if excess <= 0:
                    continue
            freed = 0.0
            for ended, n in sorted(live):
                freed += n
                if freed >= excess:
                    until = _POLL if ended == _IN_FLIGHT else ended - cutoff
                    wait = max(wait, until)
                    break
        return wait

    def _take(self, costs: Sequence[Cost]) -> list[list[float]]:
        slots = []
        for key, units, _limit, _window in costs:
            q = self._sent.get(key)
            if q is None:
                q = self._sent[key] = collections.deque()
                self._used[key] = 0
            slot = [_IN_FLIGHT, float(units)]
            q.append(slot)
            self._used[key] += units
            slots.append(slot)
        return slots

    @staticmethod
    def release(slots: list[list[float]]) -> None:
        """The request ended (reply, error or timeout): its window starts now."""
        now = time.monotonic()
        for slot in slots:
            slot[0] = now

    async def acquire(self, costs: Sequence[Cost], deadline: float, op: str) -> list[list[float]]:
        """Wait until the request fits every limit; its slots (pass them to
        :meth:`release` when the request ends)."""
        while True:
            now = time.monotonic()
            wait = self._wait(costs, now)
            if wait <= 0:
                return self._take(costs)
            if now + wait > deadline:
                raise RateLimitError(
                    "pacing",
                    f"{op} was not sent: the exchange's rate limit leaves room for it only "
                    f"in {wait:.2f}s, after its deadline (pacing=True)",
                    op=op,
                    reset_ms=int(wait * 1000),
                    sent=False,
                )
            await asyncio.sleep(wait)

"""Request id -> pending future, with a deadline per request: one class for every exchange.

Ids are unique in the process, alphanumeric and at most 32 characters (OKX's rule,
which KuCoin's non-empty-string rule also accepts). A reply that arrives after
its request timed out is handed back as *late* together with the original
request, so the engine can log and emit it instead of dropping it.
Nothing here ever re-sends anything.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import os
import secrets
from collections.abc import Callable
from typing import Any

__all__ = ["Correlator", "Pending", "new_id_source"]

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base36(n: int) -> str:
    out = []
    while True:
        n, r = divmod(n, 36)
        out.append(_ALPHABET[r])
        if not n:
            return "".join(reversed(out))


def new_id_source() -> Callable[[], str]:
    """A fresh id generator: a random per-process prefix plus a counter.

    The prefix (pid + 6 random chars, base36) keeps ids unique across restarts and
    forked children; the counter keeps them unique within the process.
    """
    prefix = _base36(os.getpid()) + secrets.token_hex(4)[:6]
    counter = itertools.count(1)
    return lambda: prefix + _base36(next(counter))


class Pending:
    """One request waiting for its reply."""

    __slots__ = ("future", "meta", "request_id", "sent", "socket_gen", "timer")

    def __init__(
        self, request_id: str, future: asyncio.Future[Any], meta: Any, socket_gen: int
    ) -> None:
        self.request_id = request_id
        self.future = future
        self.meta = meta  # what the adapter needs to turn the reply into a result
        self.socket_gen = socket_gen  # which socket it was written to
        self.sent = False
        self.timer: asyncio.TimerHandle | None = None


class Correlator:
    """Pending requests of one connection, keyed by request id."""

    # How many timed-out requests are remembered so a late reply can be matched.
    LATE_MEMORY = 4096

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.pending: dict[str, Pending] = {}
        self._late: collections.OrderedDict[str, Pending] = collections.OrderedDict()

    def __len__(self) -> int:
        return len(self.pending)

    def add(
        self,
        request_id: str,
        meta: Any,
        socket_gen: int,
        deadline: float,
        on_timeout: Callable[[Pending], BaseException],
    ) -> Pending:
        if request_id in self.pending:
            raise RuntimeError(f"request id {request_id!r} already pending")
        entry = Pending(request_id, self._loop.create_future(), meta, socket_gen)
        entry.timer = self._loop.call_at(deadline, self._expire, entry, on_timeout)
        self.pending[request_id] = entry
        return entry

    def _expire(self, entry: Pending, on_timeout: Callable[[Pending], BaseException]) -> None:
        entry.timer = None
        if self.pending.pop(entry.request_id, None) is None:
            return
        if entry.sent:
            self._remember_late(entry)
        if not entry.future.done():
            entry.future.set_exception(on_timeout(entry))

    def _remember_late(self, entry: Pending) -> None:
        self._late[entry.request_id] = entry
        if len(self._late) > self.LATE_MEMORY:
            self._late.popitem(last=False)

    def abandon(self, entry: Pending) -> None:
        """The caller went away (cancelled): forget it, but recognise a reply as late."""
        if self.pending.pop(entry.request_id, None) is not None:
            if entry.timer is not None:
                entry.timer.cancel()
                entry.timer = None
            if entry.sent:
                self._remember_late(entry)

    def pop(self, request_id: str) -> Pending | None:
        """Take the pending entry for a reply; ``None`` if unknown (see :meth:`pop_late`)."""
        entry = self.pending.pop(request_id, None)
        if entry is not None and entry.timer is not None:
            entry.timer.cancel()
            entry.timer = None
        return entry

    def pop_late(self, request_id: str) -> Pending | None:
        return self._late.pop(request_id, None)

    def fail(
        self, exc_for: Callable[[Pending], BaseException], socket_gen: int | None = None
    ) -> int:
        """Fail every pending request (or only those written to ``socket_gen``)."""
        doomed = [
            e for e in self.pending.values() if socket_gen is None or e.socket_gen == socket_gen
        ]
        for entry in doomed:
            del self.pending[entry.request_id]
            if entry.timer is not None:
                entry.timer.cancel()
                entry.timer = None
            if not entry.future.done():
                entry.future.set_exception(exc_for(entry))
        return len(doomed)

    def count(self, socket_gen: int) -> int:
        return sum(1 for e in self.pending.values() if e.socket_gen == socket_gen)

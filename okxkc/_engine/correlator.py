"""Request id -> pending future, with a deadline per request: one class for every exchange.

Ids are unique in the process, alphanumeric and at most 32 characters (OKX's rule,
which KuCoin's non-empty-string rule also accepts). A reply that arrives after
its request timed out is handed back as *late* together with the original
request, so the engine can log and emit it instead of dropping it.
Nothing here ever re-sends anything.

Deadlines are ``time.monotonic()`` values, not loop time: uvloop's clock and timers
have millisecond resolution and may fire a little early, and a call must never
time out before the deadline its caller asked for.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import math
import os
import secrets
import time
from collections.abc import Callable
from typing import Any

import msgspec

__all__ = ["Correlator", "Pending", "new_id_source"]

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"

# A timer that fires before its deadline is re-armed this much past it, so a coarse
# (millisecond) loop clock cannot make it spin.
_REARM_SLACK = 0.001
# After a sweep that ended calls, the deadline timer waits at least this long: when many
# calls end at staggered deadlines (a stalled socket), each may end up to one tick late,
# never early.
TICK = 0.01


def _base36(n: int) -> str:
    out = []
    while True:
        n, r = divmod(n, 36)
        out.append(_ALPHABET[r])
        if not n:
            return "".join(reversed(out))


def new_id_source() -> Callable[[], str]:
    """A fresh id generator: a random per-process prefix plus a counter.

    The prefix (pid in base36 + 6 random hex chars) keeps ids unique across restarts
    and forked children; the decimal counter keeps them unique within the process.
    """
    prefix = _base36(os.getpid()) + secrets.token_hex(4)[:6]
    # The counter is decimal: str() of an int is one C call, and at most 20 digits
    # keep ids within 32 characters (the prefix is at most 12).
    count = itertools.count(1).__next__
    return lambda: prefix + str(count())


class Pending(msgspec.Struct, eq=False):
    """One request waiting for its reply."""

    request_id: str
    future: asyncio.Future[Any]
    #: What the adapter needs to turn the reply into a result.
    meta: Any
    #: Which socket it was written to.
    socket_gen: int
    #: ``time.monotonic()``.
    deadline: float
    #: Builds the exception it fails with at its deadline.
    on_timeout: Callable[[Pending], BaseException] | None = None
    #: Possibly on the wire: a timeout or cancel then means "outcome unknown".
    sent: bool = False


class Correlator:
    """Pending requests of one connection, keyed by request id."""

    # How many timed-out requests are remembered so a late reply can be matched.
    LATE_MEMORY = 4096

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.pending: dict[str, Pending] = {}
        self._late: collections.OrderedDict[str, Pending] = collections.OrderedDict()
        # socket gen -> (requests of it still pending, callback) for :meth:`when_idle`;
        # counted only while someone waits for a socket to drain (a handover), so the
        # hot path pays one empty-dict test.
        self._idle_watch: dict[int, list[Any]] = {}
        # Deadlines: one timer per correlator, armed no later than the earliest deadline
        # of any pending request (``_timer_at``, monotonic). A request whose deadline is
        # later than that (the usual case: every call has the same timeout) costs one
        # comparison; an answered request costs nothing. When the timer fires it ends
        # the calls that are due and re-arms for the earliest deadline left.
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf
        # While every deadline added is no earlier than the one before (insertion order,
        # which ``pending`` keeps), a sweep stops at the first request not yet due.
        self._in_order = True
        self._last_deadline = -math.inf

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
        """Register a request; it fails with ``on_timeout(entry)`` at ``deadline`` (monotonic)."""
        entry = self.register(request_id, meta, socket_gen, deadline, on_timeout)
        self.arm(entry)
        return entry

    def register(
        self,
        request_id: str,
        meta: Any,
        socket_gen: int,
        deadline: float,
        on_timeout: Callable[[Pending], BaseException],
    ) -> Pending:
        """The first half of :meth:`add`: a reply to ``request_id`` now finds its entry.

        The deadline timer is armed for it only by :meth:`arm`: the connection registers
        a request before writing it and arms it just after, while the reply is on its
        way, so the timer costs the round trip nothing.
        """
        pending = self.pending
        if request_id in pending:
            raise RuntimeError(f"request id {request_id!r} already pending")
        entry = Pending(
            request_id, self._loop.create_future(), meta, socket_gen, deadline, on_timeout
        )
        if not pending:
            self._in_order = True  # a fresh sequence
        elif deadline < self._last_deadline:
            self._in_order = False
        self._last_deadline = deadline
        pending[request_id] = entry
        if self._idle_watch:
            watch = self._idle_watch.get(socket_gen)
            if watch is not None:
                watch[0] += 1
        return entry

    def arm(self, entry: Pending) -> None:
        """Keep ``entry``'s deadline (see :meth:`register`); harmless once it has ended."""
        if entry.deadline < self._timer_at:
            self._arm(entry.deadline)

    def _arm(self, at: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = at
        delay = at - time.monotonic()
        self._timer = self._loop.call_later(max(0.0, delay) + _REARM_SLACK, self._sweep)

    def _sweep(self) -> None:
        """The deadline timer: end the calls that are due; re-arm for the next one."""
        self._timer = None
        self._timer_at = math.inf
        pending = self.pending
        if not pending:
            return
        now = time.monotonic()
        due: list[Pending] = []
        nearest = math.inf
        for entry in pending.values():
            # Loop timers may fire a little early: never end a call before its deadline.
            if entry.deadline - now <= 0:
                due.append(entry)
            else:
                if entry.deadline < nearest:
                    nearest = entry.deadline
                if self._in_order:
                    break  # every later one is due later still
        for entry in due:
            self._expire(entry)
        if nearest < math.inf:
            # After ending calls, the next sweep waits at least a tick, however the
            # deadlines are staggered (at most two sweeps per tick); a sweep that ended
            # none (the timer fired early, or its call was answered) re-arms exactly.
            self._arm(max(nearest, now + TICK) if due else nearest)

    def _expire(self, entry: Pending) -> None:
        if self.pending.pop(entry.request_id, None) is None:
            return
        if entry.sent:
            self._remember_late(entry)
        if not entry.future.done() and entry.on_timeout is not None:
            entry.future.set_exception(entry.on_timeout(entry))
        if self._idle_watch:
            self._ended(entry.socket_gen)

    def _remember_late(self, entry: Pending) -> None:
        self._late[entry.request_id] = entry
        if len(self._late) > self.LATE_MEMORY:
            self._late.popitem(last=False)

    def _ended(self, gen: int) -> None:
        """A request of socket ``gen`` ended while some socket's drain is watched."""
        watch = self._idle_watch.get(gen)
        if watch is not None:
            watch[0] -= 1
            if watch[0] <= 0:
                del self._idle_watch[gen]
                watch[1]()

    def abandon(self, entry: Pending) -> None:
        """The caller went away (cancelled): forget it, but recognise a reply as late."""
        if self.pending.pop(entry.request_id, None) is not None:
            if entry.sent:
                self._remember_late(entry)
            if self._idle_watch:
                self._ended(entry.socket_gen)

    def pop(self, request_id: str) -> Pending | None:
        """Take the pending entry for a reply; ``None`` if unknown (see :meth:`pop_late`)."""
        entry = self.pending.pop(request_id, None)
        if entry is not None and self._idle_watch:
            self._ended(entry.socket_gen)
        return entry

    def pop_op(self, op: str, socket_gen: int) -> list[Pending]:
        """Take every pending entry of ``op`` written to socket ``socket_gen``."""
        found = [e for e in self.pending.values() if e.socket_gen == socket_gen and e.meta.op == op]
        for entry in found:
            self.pop(entry.request_id)
        return found

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
            if not entry.future.done():
                entry.future.set_exception(exc_for(entry))
            if self._idle_watch:
                self._ended(entry.socket_gen)
        return len(doomed)

    def count(self, socket_gen: int) -> int:
        """How many requests written to socket ``socket_gen`` still wait for a reply."""
        return sum(1 for e in self.pending.values() if e.socket_gen == socket_gen)

    def when_idle(self, socket_gen: int, callback: Callable[[], None]) -> None:
        """Call ``callback()`` once no request of ``socket_gen`` is pending (now if none is).

        However each one ends: a reply, its deadline, a cancelled caller or a failure.
        """
        left = self.count(socket_gen)
        if left == 0:
            callback()
        else:
            self._idle_watch[socket_gen] = [left, callback]

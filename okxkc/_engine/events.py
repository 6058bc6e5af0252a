"""The event emitter behind ``client.get_ws_client()``: ``on()`` / ``off()``.

Events are emitted on the engine loop but callbacks never run there: plain
callables run on one dispatcher thread (in order), coroutine functions run on
the event loop that was running when they were registered. A slow or failing
callback can therefore never starve heartbeats or replies.

Event names follow the Node SDKs: ``open``, ``reconnect``, ``reconnected``,
``authenticated``, ``response``, ``exception``, ``close``; okxkc adds
``late_response`` (a reply that came after its request timed out or was
cancelled, with the original request attached), ``notice`` (a
service-upgrade notice) and ``resolved`` (a lost reply settled by REST lookup:
the request, the outcome ``executed`` / ``not_executed`` / ``unknown``, per-item
verdicts).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import queue
import threading
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["EVENT_NAMES", "EventEmitter", "Listener", "begin_shutdown", "flush_at_exit"]

EVENT_NAMES = frozenset(
    {
        "open",
        "reconnect",
        "reconnected",
        "authenticated",
        "response",
        "exception",
        "close",
        "late_response",
        "notice",
        "resolved",
    }
)

Listener = Callable[[dict[str, Any]], Any]

_log = logging.getLogger("okxkc.events")


class _Dispatcher:
    """One daemon thread per process that runs plain (non-async) callbacks in order.

    Started on the first event; re-created in a forked child; never started during
    interpreter shutdown (events emitted then are dropped unless it already runs).
    """

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[Listener, dict[str, Any]] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.closing = False

    def put(self, cb: Listener, payload: dict[str, Any]) -> bool:
        """Queue one callback; False if it was dropped (interpreter shutdown)."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            with self._lock:
                thread = self._thread
                if thread is None or not thread.is_alive():
                    if self.closing:
                        return False
                    thread = threading.Thread(target=self._run, name="okxkc-events", daemon=True)
                    try:
                        thread.start()
                    except RuntimeError:  # "can't create new thread at interpreter shutdown"
                        self.closing = True
                        return False
                    self._thread = thread
        self._queue.put((cb, payload))
        return True

    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            cb, payload = item
            try:
                cb(payload)
            except Exception:
                _log.exception("okxkc event listener %r failed", cb)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every callback queued so far has run (tests and shutdown)."""
        done = threading.Event()
        if not self.put(lambda _p: done.set(), {}):
            return False
        return done.wait(timeout)

    def after_fork_in_child(self) -> None:
        # The parent's thread does not exist here, and the lock or queue may have
        # been held by it at the moment of the fork.
        self._queue = queue.SimpleQueue()
        self._thread = None
        self._lock = threading.Lock()
        self.closing = False


_dispatcher = _Dispatcher()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_dispatcher.after_fork_in_child)


def begin_shutdown() -> None:
    """Interpreter exit: from now on no dispatcher thread is started."""
    _dispatcher.closing = True


def flush_at_exit(timeout: float) -> None:
    """Let queued plain callbacks (e.g. ``close`` events) run, then end the thread (bounded)."""
    thread = _dispatcher._thread
    if _dispatcher.running() and thread is not None and threading.current_thread() is not thread:
        _dispatcher.flush(timeout)
        _dispatcher._queue.put(None)
        thread.join(timeout)


class EventEmitter:
    """Register listeners for connection and reply events of one client."""

    def __init__(self, exchange: str) -> None:
        self.exchange = exchange
        self._listeners: dict[str, list[tuple[Listener, asyncio.AbstractEventLoop | None]]] = {}
        #: The events that have a listener now. Replaced, never changed, by on() / off(),
        #: so any thread may read it: ``"response" in emitter.listened`` is how the hot
        #: path tells whether to build an event's payload at all.
        self.listened: frozenset[str] = frozenset()

    def on(
        self,
        event: str,
        callback: Listener,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> EventEmitter:
        """Call ``callback(payload)`` for every ``event``; returns the emitter for chaining.

        A coroutine function is run on ``loop`` (default: the loop running now).
        """
        if event not in EVENT_NAMES:
            raise ValueError(f"unknown event {event!r}; known: {', '.join(sorted(EVENT_NAMES))}")
        if inspect.iscoroutinefunction(callback):
            if loop is None:
                try:
                    loop = asyncio.get_running_loop()
                except RuntimeError:
                    raise ValueError(
                        f"an async listener for {event!r} needs an event loop: register it "
                        "from async code or pass loop="
                    ) from None
        else:
            loop = None
        # Copy-on-write, so the engine can iterate without a lock.
        current = self._listeners.get(event, [])
        self._listeners = {**self._listeners, event: [*current, (callback, loop)]}
        self.listened = self.listened | {event}
        return self

    def off(self, event: str, callback: Listener | None = None) -> EventEmitter:
        """Remove ``callback`` (or every listener) for ``event``."""
        current = self._listeners.get(event, [])
        kept = [] if callback is None else [x for x in current if x[0] is not callback]
        self._listeners = {**self._listeners, event: kept}
        if not kept:
            self.listened = self.listened - {event}
        return self

    def listener_count(self, event: str) -> int:
        return len(self._listeners.get(event, ()))

    def wants(self, event: str) -> bool:
        return event in self.listened

    def emit(self, event: str, payload: Mapping[str, Any]) -> None:
        """Deliver ``payload`` to every listener of ``event``, off the calling loop."""
        listeners = self._listeners.get(event)
        if not listeners:
            return
        data = dict(payload)
        data.setdefault("event", event)
        data.setdefault("exchange", self.exchange)
        for cb, loop in listeners:
            if loop is None:
                _dispatcher.put(cb, data)
            elif not loop.is_closed():
                try:
                    loop.call_soon_threadsafe(_start_coroutine, loop, cb, data)
                except RuntimeError:
                    pass  # that loop is shutting down

    @staticmethod
    def flush(timeout: float = 5.0) -> bool:
        """Block until plain callbacks queued so far have run."""
        return _dispatcher.flush(timeout)


def _start_coroutine(loop: asyncio.AbstractEventLoop, cb: Listener, data: dict[str, Any]) -> None:
    task = loop.create_task(cb(data))
    task.add_done_callback(_report)


def _report(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _log.error("okxkc async event listener failed", exc_info=task.exception())

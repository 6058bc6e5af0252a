"""The one background event loop thread that runs every okxkc connection in a process.

Started lazily under a lock, daemon, re-created in the child after ``fork()``,
stopped (with a bound) at interpreter exit. uvloop is used when installed.
Blocking callers hand coroutines to it with ``run_coroutine_threadsafe`` and
wait in short polls, so Ctrl-C is delivered.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import os
import threading
import weakref
from collections.abc import Coroutine
from typing import Any, TypeVar

from ..errors import EngineThreadError

__all__ = ["EngineLoop", "engine"]

T = TypeVar("T")

# How long a blocking wait sleeps between checks; a signal (Ctrl-C) is handled
# at the latest after this long, and a completed future wakes the waiter at once.
_POLL = 0.2
# After Ctrl-C, how long a blocking call waits for the engine task to clean up.
_CANCEL_GRACE = 1.0


def _new_loop() -> asyncio.AbstractEventLoop:
    if os.environ.get("OKXKC_NO_UVLOOP") != "1":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


class EngineLoop:
    """Owns the engine loop and its thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._stopping = False
        # Clients with open sockets, closed (bounded) at interpreter exit.
        self._clients: weakref.WeakSet[Any] = weakref.WeakSet()

    def register(self, client: Any) -> None:
        """Remember a client core so :meth:`stop` can close its sockets first."""
        self._clients.add(client)

    # -- lifecycle -------------------------------------------------------------------
    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The running engine loop, started on first use."""
        loop = self._loop
        if loop is not None and self._pid == os.getpid():
            return loop
        return self._start()

    def _start(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._pid != os.getpid():
                self._reset_after_fork()
            if self._loop is not None:
                return self._loop
            if self._stopping:
                raise RuntimeError("okxkc engine is shutting down (interpreter exit)")
            loop = _new_loop()
            ready = threading.Event()

            def main() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                try:
                    loop.run_forever()
                finally:
                    try:
                        _cancel_all(loop)
                    finally:
                        loop.close()

            thread = threading.Thread(target=main, name="okxkc-engine", daemon=True)
            thread.start()
            ready.wait()
            self._thread = thread
            self._loop = loop
            return loop

    def _reset_after_fork(self) -> None:
        # The parent's loop thread does not exist in the child; its loop object is
        # unusable (its selector and self-pipe are shared with the parent).
        self._loop = None
        self._thread = None
        self._pid = os.getpid()
        self._stopping = False
        self._lock = threading.Lock()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the loop thread (bounded). Called at interpreter exit."""
        with self._lock:
            self._stopping = True
            loop, thread = self._loop, self._thread
            self._loop = None
            self._thread = None
        if loop is None or thread is None or self._pid != os.getpid():
            return
        clients = list(self._clients)
        if clients and threading.current_thread() is not thread:

            async def close_all() -> None:
                await asyncio.wait(
                    [asyncio.ensure_future(c.close()) for c in clients], timeout=timeout / 2
                )

            try:
                asyncio.run_coroutine_threadsafe(close_all(), loop).result(timeout)
            except BaseException:
                pass
        try:
            loop.call_soon_threadsafe(loop.stop)
        except RuntimeError:
            return
        if threading.current_thread() is not thread:
            thread.join(timeout)

    # -- where am I ------------------------------------------------------------------
    def in_engine_thread(self) -> bool:
        thread = self._thread
        return thread is not None and threading.current_thread() is thread

    def is_engine_loop(self, loop: asyncio.AbstractEventLoop | None) -> bool:
        return loop is not None and loop is self._loop and self._pid == os.getpid()

    # -- hand-off --------------------------------------------------------------------
    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run_sync(self, coro: Coroutine[Any, Any, T], what: str = "this call") -> T:
        """Run ``coro`` on the engine loop and block until it ends.

        Raises :class:`EngineThreadError` on the engine thread itself (it would
        deadlock). On Ctrl-C the engine task is cancelled, given a moment to
        clean up, and ``KeyboardInterrupt`` is re-raised.
        """
        if self.in_engine_thread():
            coro.close()
            raise EngineThreadError(
                f"{what} is a blocking call made on okxkc's engine thread, where it would "
                "deadlock; use AsyncWebsocketAPIClient and await the same method instead"
            )
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            while True:
                try:
                    return fut.result(_POLL)
                except concurrent.futures.TimeoutError:
                    # Since 3.11 this is the builtin TimeoutError, which okxkc's own
                    # RequestTimeoutError subclasses: only a still-pending future
                    # means "my poll timed out".
                    if fut.done():
                        raise
        except BaseException:
            if not fut.done():
                fut.cancel()
                try:
                    fut.exception(_CANCEL_GRACE)
                except BaseException:
                    pass
            raise

    async def run_async(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` on the engine loop from the caller's own loop.

        Called on the engine loop itself (engine-loop mode), it simply awaits.
        Cancelling the caller cancels the engine task.
        """
        running = asyncio.get_running_loop()
        if running is self._loop:
            return await coro
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return await asyncio.wrap_future(fut)


def _cancel_all(loop: asyncio.AbstractEventLoop) -> None:
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for t in tasks:
        t.cancel()
    if tasks:
        loop.run_until_complete(asyncio.wait(tasks, timeout=1.0))


engine = EngineLoop()

atexit.register(engine.stop)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=engine._reset_after_fork)

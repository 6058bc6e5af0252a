"""The one background event loop thread that runs every okxkc connection in a process.

Started lazily under a lock, daemon, re-created in the child after ``fork()``,
stopped (with a bound, starting no new thread) at interpreter exit. uvloop is used
when installed.

Every call crosses to it the same way, ``asyncio.run_coroutine_threadsafe``:
blocking callers wait on the returned future in short steps (so Ctrl-C is
delivered), async callers await it through ``asyncio.wrap_future``. Cancelling
either cancels the engine task and waits, bounded, for it to finish. An app run
on the engine loop itself (``okxkc.run``) awaits the engine coroutines directly.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import inspect
import os
import threading
import weakref
from asyncio import run_coroutine_threadsafe
from collections.abc import Coroutine
from threading import get_ident
from typing import Any, TypeVar

from ..errors import ClientClosedError, EngineThreadError, OkxkcError
from . import events

__all__ = ["EngineLoop", "Escaped", "contained", "engine"]

T = TypeVar("T")

# How long a blocking wait sleeps between checks; a signal (Ctrl-C) is handled
# at the latest after this long, and a completed future wakes the waiter at once.
_POLL = 0.2
# After Ctrl-C (or cancellation), how long a call waits for the engine task to clean up.
_CANCEL_GRACE = 1.0
# How long a starter waits for a new loop thread to run.
_START_TIMEOUT = 10.0


# this process's id, kept current by an at-fork hook, so hot paths make no
# getpid() system call.
_PID = os.getpid()


def current_pid() -> int:
    return _PID


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
        # The engine thread's ident (0: none), for the blocking call's deadlock guard.
        self._ident = 0
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
        if loop is not None and self._pid == _PID:
            return loop
        return self._start()

    def _start(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._pid != os.getpid():
                self._reset_after_fork()
            if self._loop is not None:
                return self._loop
            if self._stopping:
                raise ClientClosedError("okxkc is shutting down (interpreter exit)")
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
            try:
                thread.start()
            except RuntimeError as exc:  # "can't create new thread at interpreter shutdown"
                loop.close()
                raise ClientClosedError(f"okxkc cannot start its engine thread: {exc}") from None
            if not ready.wait(_START_TIMEOUT):  # pragma: no cover - a broken event loop
                raise RuntimeError("okxkc's engine loop did not start")
            assert thread.ident is not None
            self._ident = thread.ident
            self._thread = thread
            self._loop = loop
            return loop

    def _reset_after_fork(self) -> None:
        # The parent's loop thread does not exist in the child; its loop object is
        # unusable (its selector and self-pipe are shared with the parent), and so are
        # the parent's clients: their sockets belong to the parent.
        self._loop = None
        self._thread = None
        self._ident = 0
        self._pid = os.getpid()
        self._stopping = False
        self._lock = threading.Lock()
        self._clients = weakref.WeakSet()

    def stop(self, timeout: float = 2.0) -> None:
        """Close every client and stop the loop thread (bounded). Called at interpreter exit.

        Starts no thread: events of the closing clients go to the dispatcher only if
        it already runs.
        """
        if self._pid != os.getpid():
            return  # a forked child that never used okxkc
        events.begin_shutdown()
        with self._lock:
            self._stopping = True
            loop, thread = self._loop, self._thread
            self._loop = None
            self._thread = None
            self._ident = 0
        if loop is None or thread is None:
            return
        here = threading.current_thread() is thread
        clients = list(self._clients)
        if clients and not here and thread.is_alive():

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
        if not here:
            thread.join(timeout)
        events.flush_at_exit(timeout / 4)

    # -- where am I ------------------------------------------------------------------
    def in_engine_thread(self) -> bool:
        # The ident first (one C call); a dead thread's ident can be reused, so a match
        # is confirmed by the thread object.
        return get_ident() == self._ident and threading.current_thread() is self._thread

    def is_engine_loop(self, loop: asyncio.AbstractEventLoop | None) -> bool:
        return loop is not None and loop is self._loop and self._pid == _PID

    # -- hand-off --------------------------------------------------------------------
    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Start ``coro`` on the engine loop; its future (fire-and-forget use).

        A KeyboardInterrupt or SystemExit raised inside ``coro`` fails the future
        with :class:`Escaped` (it carries the original as ``.exc``).
        """
        return self._hand_off(contained(coro))

    def _hand_off(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """The one cross-thread hop of every call: ``asyncio.run_coroutine_threadsafe``."""
        loop = self._loop
        try:
            if loop is None or self._pid != _PID:
                loop = self._start()
            return run_coroutine_threadsafe(coro, loop)
        except BaseException as exc:
            raise _not_handed_off(coro, exc) from None

    def run_sync(self, coro: Coroutine[Any, Any, T], what: str = "this call") -> T:
        """Run ``coro`` on the engine loop and block until it ends.

        Waits on the ``run_coroutine_threadsafe`` future in short steps, so Ctrl-C
        is handled and a dead engine thread ends the wait. Raises
        :class:`EngineThreadError` on the engine thread itself (it would deadlock).
        On Ctrl-C the engine task is cancelled, given a moment to clean up, and
        ``KeyboardInterrupt`` is re-raised: for an order, the outcome is then
        unknown (it may have been sent).
        """
        if get_ident() == self._ident and self.in_engine_thread():
            coro.close()
            raise EngineThreadError(
                f"{what} is a blocking call made on okxkc's engine thread, where it would "
                "deadlock; use AsyncWebsocketAPIClient and await the same method instead"
            )
        # The hand-off (``_hand_off``, written out: every blocking call runs this).
        loop = self._loop
        try:
            if loop is None or self._pid != _PID:
                loop = self._start()
            fut = run_coroutine_threadsafe(coro, loop)
        except BaseException as exc:
            raise _not_handed_off(coro, exc) from None
        try:
            while True:
                try:
                    return fut.result(_POLL)
                except concurrent.futures.TimeoutError:
                    # (also the base of RequestTimeoutError: the call's own outcome)
                    if fut.done():
                        raise
                    thread = self._thread
                    if thread is not None and not thread.is_alive():
                        raise ClientClosedError(
                            f"okxkc's engine thread ended with {what} in flight: outcome unknown"
                        ) from None
        except Escaped as esc:
            raise esc.exc from None
        except concurrent.futures.CancelledError:
            # Only the engine cancels it without us: it is shutting down.
            raise ClientClosedError(
                f"okxkc's engine stopped with {what} in flight: outcome unknown"
            ) from None
        except BaseException:
            if not fut.done():
                fut.cancel()
                self._await_end_sync(coro)
            raise

    async def run_async(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` on the engine loop from the caller's own loop.

        Called on the engine loop itself (engine-loop mode), it simply awaits: no
        hop. Otherwise :meth:`hop`.
        """
        running = asyncio.get_running_loop()
        if running is self._loop and self._pid == _PID:
            return await coro
        return await self.hop(coro)

    async def hop(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` on the engine loop from another loop (the caller knows it is
        not on the engine loop).

        Awaits the ``run_coroutine_threadsafe`` future through ``asyncio.wrap_future``.
        Cancelling the caller cancels the engine task and waits (bounded) for it to
        finish before the ``CancelledError`` propagates.
        """
        fut = self._hand_off(coro)
        try:
            return await asyncio.wrap_future(fut)
        except Escaped as esc:
            raise esc.exc from None
        except asyncio.CancelledError:
            # The caller was cancelled: wrap_future passed that on to ``fut``, whose
            # cancellation reaches the engine task. Wait (bounded) for its cleanup.
            if fut.cancelled():
                try:
                    ended = self._submit_end(coro)
                except ClientClosedError:
                    raise asyncio.CancelledError from None
                await asyncio.wait({asyncio.wrap_future(ended)}, timeout=_CANCEL_GRACE + _POLL)
            raise

    def _submit_end(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[None]:
        loop = self._loop
        try:
            if loop is None:
                raise RuntimeError("no engine loop")
            return asyncio.run_coroutine_threadsafe(_await_end(coro), loop)
        except RuntimeError:  # the loop is closed: nothing runs there any more
            _close_unstarted(coro)
            raise ClientClosedError("okxkc's engine loop is closed") from None

    def _await_end_sync(self, coro: Coroutine[Any, Any, Any]) -> None:
        thread = self._thread
        if thread is None or not thread.is_alive():
            _close_unstarted(coro)
            return
        try:
            self._submit_end(coro).result(_CANCEL_GRACE + _POLL)
        except BaseException:  # a second Ctrl-C or a closed loop: stop waiting
            pass


class Escaped(Exception):
    """Carries a KeyboardInterrupt or SystemExit out of a task without stopping the loop."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__(exc)
        self.exc = exc


async def contained(coro: Coroutine[Any, Any, T]) -> T:
    """``coro``, with a KeyboardInterrupt or SystemExit it raises turned into :class:`Escaped`.

    Raised in a task, either would escape ``run_forever`` and end the engine thread
    for the whole process (e.g. ``sys.exit()`` in an app run by ``okxkc.run``); the
    caller gets it instead (:meth:`EngineLoop.run_sync` / :meth:`EngineLoop.run_async`
    re-raise the original). User code is wrapped in it; okxkc's own request
    coroutines, which raise neither, are handed off as they are.
    """
    try:
        return await coro
    except (KeyboardInterrupt, SystemExit) as exc:
        raise Escaped(exc) from None


async def _await_end(coro: Coroutine[Any, Any, Any]) -> None:
    """On the engine loop: cancel the task running ``coro``, wait (bounded) until it ends.

    The cancel path only: it looks the task up among the loop's tasks, so the happy
    path keeps no task reference. Runs after the hand-off's own callback (the loop
    runs thread-safe callbacks in order), so the task exists if it ever will.
    """
    for task in asyncio.all_tasks():
        if task.get_coro() is coro:
            task.cancel()
            await asyncio.wait({task}, timeout=_CANCEL_GRACE)
            break
    _close_unstarted(coro)


def _not_handed_off(coro: Coroutine[Any, Any, Any], exc: BaseException) -> BaseException:
    """What a failed hand-off raises; ``coro`` never started, so it is closed (no
    "coroutine was never awaited" warning)."""
    coro.close()
    if isinstance(exc, RuntimeError) and not isinstance(exc, OkxkcError):
        # The loop closed between the lookup and the hand-off (interpreter exit).
        return ClientClosedError(f"okxkc's engine loop is closed: {exc}")
    return exc


def _close_unstarted(coro: Coroutine[Any, Any, Any]) -> None:
    # Cancelled before its first step, the wrapper never awaited ``coro``: close it,
    # or it warns "coroutine was never awaited". A started one is left alone.
    if inspect.getcoroutinestate(coro) == inspect.CORO_CREATED:
        coro.close()


def _cancel_all(loop: asyncio.AbstractEventLoop) -> None:
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for t in tasks:
        t.cancel()
    if tasks:
        loop.run_until_complete(asyncio.wait(tasks, timeout=1.0))


engine = EngineLoop()

atexit.register(engine.stop)
if hasattr(os, "register_at_fork"):

    def _after_fork_in_child() -> None:
        global _PID
        _PID = os.getpid()
        engine._reset_after_fork()

    os.register_at_fork(after_in_child=_after_fork_in_child)

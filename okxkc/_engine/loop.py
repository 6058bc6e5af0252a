"""The one background event loop thread that runs every okxkc connection in a process.

Started lazily under a lock, daemon, re-created in the child after ``fork()``,
stopped (with a bound, starting no new thread) at interpreter exit. uvloop is used
when installed. Blocking callers hand coroutines to it and wait in short polls, so
Ctrl-C is delivered; async callers await it under a shield, so cancelling them
cancels the engine task and waits for it to finish.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import os
import threading
import weakref
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from ..errors import ClientClosedError, EngineThreadError, OkxkcError
from . import events

__all__ = ["EngineLoop", "engine"]

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


class _Job:
    """One coroutine running as a task on the engine loop, seen from another thread.

    ``done`` completes only once the task itself has finished (its cleanup after a
    cancellation included), unlike ``run_coroutine_threadsafe``'s future, which
    reports "cancelled" the moment it is asked to cancel.
    """

    __slots__ = ("coro", "done", "loop", "task")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.done: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self.task: asyncio.Task[Any] | None = None
        self.coro: Coroutine[Any, Any, Any] | None = None

    def start(self, coro: Coroutine[Any, Any, Any]) -> None:
        # Runs on the engine loop.
        self.coro = coro
        try:
            self.task = task = self.loop.create_task(_contained(coro))
        except BaseException as exc:  # pragma: no cover - the loop is closing
            coro.close()
            self.done.set_exception(exc)
            return
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        done = self.done
        if done.done():  # pragma: no cover - defensive
            return
        if task.cancelled():
            # Cancelled before its first step, the wrapper never awaited ``coro``:
            # close it, or it warns "coroutine was never awaited".
            if self.coro is not None:
                self.coro.close()
            done.cancel()
            return
        exc = task.exception()
        if exc is None:
            done.set_result(task.result())
        else:
            done.set_exception(exc.exc if isinstance(exc, _Escaped) else exc)

    def cancel(self) -> None:
        """Ask the engine task to stop (from any thread); ``done`` follows once it has."""
        try:
            self.loop.call_soon_threadsafe(self._cancel)
        except RuntimeError:  # the loop is closed: nothing runs there any more
            self.done.cancel()

    def _cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()


class _SyncJob:
    """A coroutine on the engine loop waited for by a blocked thread."""

    __slots__ = ("cancelled", "coro", "ended", "exc", "lock", "loop", "result", "task")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.lock = threading.Lock()
        self.lock.acquire()
        self.task: asyncio.Task[Any] | None = None
        self.result: Any = None
        self.exc: BaseException | None = None
        self.cancelled = False
        self.ended = False
        self.coro: Coroutine[Any, Any, Any] | None = None

    def start(self, coro: Coroutine[Any, Any, Any]) -> None:
        self.coro = coro
        try:
            self.task = task = self.loop.create_task(_contained(coro))
        except BaseException as exc:  # pragma: no cover - the loop is closing
            coro.close()
            self.exc = exc
            self.ended = True
            self.lock.release()
            return
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        if task.cancelled():
            if self.coro is not None:
                self.coro.close()
            self.cancelled = True
        else:
            exc = task.exception()
            if exc is None:
                self.result = task.result()
            else:
                self.exc = exc.exc if isinstance(exc, _Escaped) else exc
        self.coro = None
        self.ended = True
        self.lock.release()

    def cancel(self) -> None:
        try:
            self.loop.call_soon_threadsafe(self._cancel)
        except RuntimeError:
            pass

    def _cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()


class _AsyncJob:
    """A coroutine on the engine loop awaited from another loop."""

    __slots__ = ("caller", "coro", "delivered", "finished", "loop", "task", "waiter")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        caller: asyncio.AbstractEventLoop,
        waiter: asyncio.Future[Any],
    ) -> None:
        self.loop = loop
        self.caller = caller
        self.waiter = waiter
        self.task: asyncio.Task[Any] | None = None
        self.delivered = False
        self.finished: asyncio.Future[None] | None = None
        self.coro: Coroutine[Any, Any, Any] | None = None

    def start(self, coro: Coroutine[Any, Any, Any]) -> None:
        # Runs on the engine loop.
        self.coro = coro
        try:
            self.task = task = self.loop.create_task(_contained(coro))
        except BaseException as exc:  # pragma: no cover - the loop is closing
            coro.close()
            self._post(None, exc, False)
            return
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        coro, self.coro = self.coro, None
        if task.cancelled():
            if coro is not None:
                coro.close()
            self._post(None, None, True)
            return
        exc = task.exception()
        if isinstance(exc, _Escaped):
            exc = exc.exc
        self._post(None if exc is not None else task.result(), exc, False)

    def _post(self, result: Any, exc: BaseException | None, cancelled: bool) -> None:
        try:
            self.caller.call_soon_threadsafe(self._deliver, result, exc, cancelled)
        except RuntimeError:  # the caller's loop is closed: nobody is waiting
            pass

    def _deliver(self, result: Any, exc: BaseException | None, cancelled: bool) -> None:
        # Runs on the caller's loop.
        self.delivered = True
        waiter = self.waiter
        if not waiter.done():
            if cancelled:
                waiter.cancel()
            elif exc is not None:
                waiter.set_exception(exc)
            else:
                waiter.set_result(result)
        finished = self.finished
        if finished is not None and not finished.done():
            finished.set_result(None)

    def cancel(self) -> None:
        try:
            self.loop.call_soon_threadsafe(self._cancel)
        except RuntimeError:
            pass

    def _cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()


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
            self._thread = thread
            self._loop = loop
            return loop

    def _reset_after_fork(self) -> None:
        # The parent's loop thread does not exist in the child; its loop object is
        # unusable (its selector and self-pipe are shared with the parent), and so are
        # the parent's clients: their sockets belong to the parent.
        self._loop = None
        self._thread = None
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
        thread = self._thread
        return thread is not None and threading.current_thread() is thread

    def is_engine_loop(self, loop: asyncio.AbstractEventLoop | None) -> bool:
        return loop is not None and loop is self._loop and self._pid == _PID

    # -- hand-off --------------------------------------------------------------------
    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Start ``coro`` on the engine loop; its future (fire-and-forget use)."""
        return self._spawn(coro).done

    @staticmethod
    def _hand_off(
        loop: asyncio.AbstractEventLoop,
        start: Callable[[Coroutine[Any, Any, Any]], None],
        coro: Coroutine[Any, Any, Any],
    ) -> None:
        """The one cross-thread hop of every call: start ``coro`` on the engine loop."""
        loop.call_soon_threadsafe(start, coro)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> _Job:
        try:
            loop = self.loop
            job = _Job(loop)
            self._hand_off(loop, job.start, coro)
        except BaseException as exc:
            coro.close()  # never started: no "coroutine was never awaited" warning
            if isinstance(exc, RuntimeError) and not isinstance(exc, OkxkcError):
                # The loop closed between the lookup and the hand-off (interpreter exit).
                raise ClientClosedError(f"okxkc's engine loop is closed: {exc}") from None
            raise
        return job

    def run_sync(self, coro: Coroutine[Any, Any, T], what: str = "this call") -> T:
        """Run ``coro`` on the engine loop and block until it ends.

        Raises :class:`EngineThreadError` on the engine thread itself (it would
        deadlock). On Ctrl-C the engine task is cancelled, given a moment to clean
        up, and ``KeyboardInterrupt`` is re-raised: for an order, the outcome is
        then unknown (it may have been sent).
        """
        if self.in_engine_thread():
            coro.close()
            raise EngineThreadError(
                f"{what} is a blocking call made on okxkc's engine thread, where it would "
                "deadlock; use AsyncWebsocketAPIClient and await the same method instead"
            )
        # a pre-acquired lock released by the engine when the task ends.
        try:
            loop = self.loop
            job = _SyncJob(loop)
            self._hand_off(loop, job.start, coro)
        except BaseException as exc:
            coro.close()
            if isinstance(exc, RuntimeError) and not isinstance(exc, OkxkcError):
                raise ClientClosedError(f"okxkc's engine loop is closed: {exc}") from None
            raise
        thread = self._thread
        lock = job.lock
        try:
            while not lock.acquire(True, _POLL):
                if thread is not None and not thread.is_alive():
                    raise ClientClosedError(
                        f"okxkc's engine thread ended with {what} in flight: outcome unknown"
                    )
        except BaseException:
            if not job.ended:
                job.cancel()
                lock.acquire(True, _CANCEL_GRACE)
            raise
        if job.cancelled:
            raise ClientClosedError(
                f"okxkc's engine stopped with {what} in flight: outcome unknown"
            )
        failure = job.exc
        if failure is not None:
            job.exc = None
            raise failure
        return job.result  # type: ignore[no-any-return]

    async def run_async(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` on the engine loop from the caller's own loop.

        Called on the engine loop itself (engine-loop mode), it simply awaits.
        Cancelling the caller cancels the engine task and waits (bounded) for it to
        finish before the ``CancelledError`` propagates.
        """
        running = asyncio.get_running_loop()
        if running is self._loop and self._pid == _PID:
            return await coro
        # one caller-loop future, completed from the engine loop with one
        # call_soon_threadsafe: no concurrent.futures.Future, wrap_future or shield.
        waiter = running.create_future()
        try:
            loop = self.loop
            job = _AsyncJob(loop, running, waiter)
            self._hand_off(loop, job.start, coro)
        except BaseException as exc:
            coro.close()
            if isinstance(exc, RuntimeError) and not isinstance(exc, OkxkcError):
                raise ClientClosedError(f"okxkc's engine loop is closed: {exc}") from None
            raise
        try:
            result: T = await waiter
            return result
        except asyncio.CancelledError:
            if not job.delivered:
                job.finished = running.create_future()
                job.cancel()
                await asyncio.wait({job.finished}, timeout=_CANCEL_GRACE)
            raise


class _Escaped(Exception):
    """Carries a KeyboardInterrupt or SystemExit out of a task without stopping the loop."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__(exc)
        self.exc = exc


async def _contained(coro: Coroutine[Any, Any, T]) -> T:
    # A KeyboardInterrupt or SystemExit raised in a task would escape run_forever and
    # end the engine thread for the whole process (e.g. sys.exit() in an app run by
    # okxkc.run). It goes to the caller instead.
    try:
        return await coro
    except (KeyboardInterrupt, SystemExit) as exc:
        raise _Escaped(exc) from None


def _consume(fut: asyncio.Future[Any]) -> None:
    # A waiter abandoned by a cancelled caller must not log "exception never retrieved".
    if not fut.cancelled():
        fut.exception()


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

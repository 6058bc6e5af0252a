"""Engine-loop mode: run an app's main coroutine on the engine loop and clean up
after it the way ``asyncio.run`` does.

When ``main()`` ends (returns, raises or is cancelled), the tasks it started that
are still running are cancelled and awaited, and the async generators it started
are closed. The engine's own tasks (okxkc's sockets, named ``okxkc-…``) and
everything other threads run on the engine loop are left alone: the loop lives on
for the rest of the process.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import sys
import weakref
from collections.abc import AsyncGenerator, Coroutine
from typing import Any, TypeVar, cast

from .loop import contained

__all__ = ["run_app"]

T = TypeVar("T")

_log = logging.getLogger("okxkc")


class _App:
    """What one ``okxkc.run`` call started."""

    def __init__(self) -> None:
        self.tasks: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()
        self.asyncgens: weakref.WeakSet[AsyncGenerator[Any, Any]] = weakref.WeakSet()


# Set in the context of main()'s task; tasks and generators started from it inherit it.
_CURRENT: contextvars.ContextVar[_App | None] = contextvars.ContextVar("okxkc_app", default=None)
_running = 0


def _task_factory(
    loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T], /, **kw: Any
) -> asyncio.Task[T]:
    task = asyncio.Task(coro, loop=loop, **kw)
    app = _CURRENT.get()
    if app is not None:
        app.tasks.add(task)
    return task


def _watch_asyncgens() -> None:
    # The loop's own hooks stay in charge (finalizing); ours also notes the
    # generators an app starts. Hooks are per thread: this is the engine thread.
    hooks = sys.get_asyncgen_hooks()
    firstiter = hooks.firstiter
    if getattr(firstiter, "_okxkc", False):
        return

    def noting(agen: AsyncGenerator[Any, Any]) -> None:
        app = _CURRENT.get()
        if app is not None:
            app.asyncgens.add(agen)
        if firstiter is not None:
            firstiter(agen)

    noting._okxkc = True  # type: ignore[attr-defined]
    sys.set_asyncgen_hooks(firstiter=noting, finalizer=hooks.finalizer)


async def run_app(main: Coroutine[Any, Any, T]) -> T:
    """Await ``main`` on the engine loop; then cancel and await what it left running."""
    global _running
    loop = asyncio.get_running_loop()
    app = _App()
    _CURRENT.set(app)  # this task's own context
    _watch_asyncgens()
    if _running == 0:
        # (typeshed's factory protocol omits the ``context=`` keyword the loop may pass)
        loop.set_task_factory(cast("Any", _task_factory))
    _running += 1
    try:
        return await contained(main)
    finally:
        _CURRENT.set(None)
        await _cleanup(loop, app)
        _running -= 1
        if _running == 0:
            loop.set_task_factory(None)


async def _cleanup(loop: asyncio.AbstractEventLoop, app: _App) -> None:
    # A generator main() dropped as it returned is handed to the loop's finalizer,
    # which starts its aclose() task with call_soon_threadsafe: one loop step lets
    # that task exist before the tasks are collected below.
    await asyncio.sleep(0)
    me = asyncio.current_task()
    left = [
        t
        for t in list(app.tasks)
        if t is not me and not t.done() and not t.get_name().startswith("okxkc-")
    ]
    # An async generator main() dropped is being closed by the loop (its aclose()
    # runs as a task): that one is awaited, not cancelled.
    closing = [t for t in left if type(t.get_coro()).__name__ == "async_generator_athrow"]
    left = [t for t in left if t not in closing]
    if closing:
        await asyncio.gather(*closing, return_exceptions=True)
    for t in left:
        t.cancel()
    if left:
        results = await asyncio.gather(*left, return_exceptions=True)
        for task, result in zip(left, results, strict=True):
            if isinstance(result, Exception) and not isinstance(result, asyncio.CancelledError):
                loop.call_exception_handler(
                    {
                        "message": "unhandled exception in a task left by okxkc.run's main()",
                        "exception": result,
                        "task": task,
                    }
                )
    gens = list(app.asyncgens)
    if gens:
        results = await asyncio.gather(*(g.aclose() for g in gens), return_exceptions=True)
        for gen, result in zip(gens, results, strict=True):
            if isinstance(result, Exception):
                loop.call_exception_handler(
                    {
                        "message": "an error occurred closing an async generator left by main()",
                        "exception": result,
                        "asyncgen": gen,
                    }
                )

"""``okxkc.run(main())`` cleans up like ``asyncio.run``: tasks main() left running
are cancelled and awaited, async generators it started are closed; okxkc's own
sockets and other threads' calls on the engine loop are left alone."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest

import okxkc
from okxkc import okx
from okxkc.testing.okx import OkxSimulator

from .conftest import okx_options

ORDER = dict(instId="BTC-USDT", tdMode="cash", side="buy", ordType="limit", px="20000", sz="0.01")


def test_tasks_main_left_running_are_cancelled_and_awaited() -> None:
    seen: list[str] = []

    async def forever(name: str) -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            await asyncio.sleep(0.01)  # cleanup that itself awaits
            seen.append(f"{name} cleaned up")

    started: list[asyncio.Future[None]] = []

    async def spawner() -> None:
        started.append(asyncio.ensure_future(forever("grandchild")))  # a task's task
        await asyncio.sleep(3600)

    async def main() -> str:
        started.append(asyncio.create_task(forever("child")))
        started.append(asyncio.create_task(spawner()))
        await asyncio.sleep(0.05)
        return "done"

    assert okxkc.run(main()) == "done"
    assert sorted(seen) == ["child cleaned up", "grandchild cleaned up"]
    assert all(t.cancelled() for t in started)


def test_async_generators_main_started_are_closed() -> None:
    closed: list[str] = []

    async def ticks() -> AsyncIterator[int]:
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            closed.append("ticks")

    async def main() -> int:
        gen = ticks()
        first = await gen.__anext__()
        await gen.__anext__()
        return first  # gen left suspended, like a ``break`` out of ``async for``

    assert okxkc.run(main()) == 0
    assert closed == ["ticks"]

    kept: list[Any] = []

    async def keeps_it() -> None:
        gen = ticks()
        await gen.__anext__()
        kept.append(gen)  # still referenced when main() ends: closed by the cleanup

    okxkc.run(keeps_it())
    assert closed == ["ticks", "ticks"]


def test_cleanup_after_main_raises_and_an_error_in_cleanup_is_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def bad_cleanup() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            raise RuntimeError("cleanup failed")

    started: list[asyncio.Task[None]] = []

    async def main() -> None:
        started.append(asyncio.create_task(bad_cleanup()))
        await asyncio.sleep(0.01)
        raise ValueError("app failed")

    with (
        caplog.at_level(logging.ERROR, logger="asyncio"),
        pytest.raises(ValueError, match="app failed"),
    ):
        okxkc.run(main())
    reported = [r for r in caplog.records if "left by okxkc.run" in r.getMessage()]
    assert reported and "cleanup failed" in str(reported[0].exc_info[1])


def test_okxkc_sockets_and_other_threads_survive_the_cleanup() -> None:
    with OkxSimulator() as sim:
        blocking = okx.WebsocketAPIClient(**okx_options(sim))
        assert blocking.submit_new_order(**ORDER, clOrdId="pre").data[0].sCode == "0"
        kept: dict[str, Any] = {}

        async def main() -> None:
            client = okx.AsyncWebsocketAPIClient(**okx_options(sim))
            await client.submit_new_order(**ORDER, clOrdId="in1")
            kept["client"] = client  # left open on purpose
            # a blocking call from another thread while the app runs
            res = await asyncio.to_thread(blocking.submit_new_order, **ORDER, clOrdId="thr")
            kept["thread"] = res.data[0].sCode

        okxkc.run(main())
        assert kept["thread"] == "0"
        client = kept["client"]
        conn = client._core.connections[(0, "private")]
        # its sockets were not cancelled with main()'s tasks
        assert conn._supervisor is not None and not conn._supervisor.done()
        assert conn._sock is not None and not conn._sock.reader.done()

        async def again() -> str:
            return str((await client.submit_new_order(**ORDER, clOrdId="in2")).data[0].sCode)

        assert okxkc.run(again()) == "0"
        assert blocking.submit_new_order(**ORDER, clOrdId="post").data[0].sCode == "0"
        okxkc.run(client.close())
        blocking.close()
        assert threading.current_thread() is threading.main_thread()


def test_run_refuses_a_non_coroutine() -> None:
    with pytest.raises(TypeError):
        okxkc.run(lambda: None)  # type: ignore[arg-type]


def test_a_dropped_generator_is_closed_before_run_returns_on_stock_asyncio() -> None:
    # asyncio's finalizer starts the aclose() task a loop step after main() returns;
    # okxkc.run must wait for it (it was missed about 1 time in 10 without uvloop).
    script = """
import okxkc
misses = 0
for _ in range(200):
    closed = []
    async def ticks():
        try:
            while True:
                yield 1
        finally:
            closed.append(1)
    async def main():
        gen = ticks()
        await gen.__anext__()
        return 0
    okxkc.run(main())
    misses += closed != [1]
print(misses)
"""
    env = dict(os.environ, OKXKC_NO_UVLOOP="1")
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0"

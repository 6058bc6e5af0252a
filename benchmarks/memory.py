"""okxkc's memory over many orders: RSS and live Python objects before and after.

Run by ``clients.py okxkc-memory PLAN_JSON RESULT_FILE`` (``runner.py`` starts it).
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import Callable
from typing import Any

from _workload import _threads
from clients import OkxkcAsync, OkxkcSync


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _snapshot() -> dict[str, int]:
    gc.collect()
    return {"rss": _rss_bytes(), "objects": len(gc.get_objects())}


def memory(plan: dict[str, Any]) -> dict[str, Any]:
    """RSS and live-object growth of okxkc over many orders, after a warm-up.

    Three phases in one process, each measured on its own: engine-loop mode
    (``okxkc.run``) with ``in_flight`` orders in flight for ``memory_orders``
    orders, then the async facade from the caller's own loop and the sync facade
    from ``threads`` threads for ``memory_facade_orders`` each. The pending map
    must be empty after each phase.
    """
    import okxkc

    level = plan["in_flight"]

    async def pump(order: Callable[[], Any], count: int) -> None:
        left = [count]

        async def worker() -> None:
            while left[0] > 0:
                left[0] -= 1
                await order()

        await asyncio.gather(*(worker() for _ in range(level)))

    # okxkc keeps one loop timer per 10 ms of deadlines, armed until that deadline
    # passes: both snapshots are taken once the deadlines of the orders just sent have
    # passed, so they see the same state and only a leak shows as growth. A short
    # request timeout keeps that wait short.
    settle = plan["memory_settle"]
    plan = dict(plan, request_timeout=settle - 0.1)

    def measure(run: Callable[[int], Any], n: int, client: Any) -> dict[str, Any]:
        run(min(20_000, max(n // 10, 1000)))  # warm-up: caches, freelists, arenas
        time.sleep(settle)
        before = _snapshot()
        t = time.perf_counter()
        run(n)
        secs = time.perf_counter() - t
        time.sleep(settle)
        after = _snapshot()
        return {
            "orders": n,
            "seconds": secs,
            "rss_before": before["rss"],
            "rss_after": after["rss"],
            "rss_growth": after["rss"] - before["rss"],
            "objects_growth": after["objects"] - before["objects"],
            "pending_after": client.pending_requests(),
        }

    out: dict[str, Any] = {}

    engine_client = OkxkcAsync("okx", plan)

    async def engine_phase() -> dict[str, Any]:
        await engine_client.open()
        loop = asyncio.get_running_loop()
        # measure() blocks, so it runs in a helper thread that drives this loop.
        return await loop.run_in_executor(
            None,
            lambda: measure(
                lambda k: asyncio.run_coroutine_threadsafe(
                    pump(engine_client.order, k), loop
                ).result(),
                plan["memory_orders"],
                engine_client.client,
            ),
        )

    out["engine"] = okxkc.run(engine_phase())
    okxkc.run(engine_client.close())

    aclient = OkxkcAsync("okx", plan)
    caller = asyncio.new_event_loop()
    caller.run_until_complete(aclient.open())
    out["async"] = measure(
        lambda k: caller.run_until_complete(pump(aclient.order, k)),
        plan["memory_facade_orders"],
        aclient.client,
    )
    caller.run_until_complete(aclient.close())
    caller.close()

    sync = OkxkcSync("okx", plan)
    sync.open()
    out["sync"] = measure(
        lambda k: _threads(sync.order, plan["threads"], k),
        plan["memory_facade_orders"],
        sync.client,
    )
    sync.close()
    return out

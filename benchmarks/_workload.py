"""The workload every Python benchmark client runs, the same for each: stdlib only,
so it also runs in a peer's own virtualenv (ccxt) without okxkc or the project's
dependencies.

A *plan* (a dict from ``runner.py``) says what to measure in this fresh process:

- ``cold``: always measured first: construct the client, then the first order
  acknowledged (connect and login included), in seconds;
- ``warmup`` orders, then ``orders`` sequential round trips (one in flight),
  each timed on its own (``latency_us``), and the CPU time this process spent on
  them (``cpu_us_per_order``: all threads, user + system; steadier than wall time
  on a shared machine);
- ``levels``, ``level_orders`` and ``level_seconds``: pipelined throughput for
  each N in ``levels``: up to ``level_orders`` orders (or until ``level_seconds``
  are up) spread over N concurrent callers (coroutines for async clients, threads
  for blocking ones); orders per second, and CPU µs per order at each level
  (``throughput_cpu_us``). A client that stops answering is marked ``hung`` and
  the process ends there.

A client is an object with ``open()`` (construct; for bare clients also connect),
``order()`` (one order, returns once acknowledged, raises on a rejection) and
``close()``: coroutines for an async client, plain methods for a blocking one.
"""

from __future__ import annotations

import json
import resource
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["drive_async", "drive_sync", "read_plan", "run_loop", "write_result"]

_ns = time.perf_counter_ns


def _cpu() -> float:
    """CPU seconds used by this process so far (all threads, user + system)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# A pipelined run that has not finished this long after its time is up is hung.
HANG_S = 15.0


async def drive_async(client: Any, plan: dict[str, Any], t0: int | None = None) -> dict[str, Any]:
    """Run ``plan`` against an async client on the running loop.

    ``t0`` (``perf_counter_ns``) lets a caller start the cold-start clock earlier
    (engine-loop mode starts it before ``okxkc.run``).
    """
    import asyncio

    out: dict[str, Any] = {}
    start = _ns() if t0 is None else t0
    await client.open()
    await client.order()
    out["cold_s"] = (_ns() - start) / 1e9
    order = client.order
    n = plan.get("orders", 0)
    warmup = plan.get("warmup", 0)
    samples = [0.0] * n
    done = [0]  # sequential orders done so far (warm-up included): the watchdog's view

    async def sequential() -> None:
        for _ in range(warmup):
            await order()
            done[0] += 1
        cpu = _cpu()
        for i in range(n):
            t = _ns()
            await order()
            samples[i] = (_ns() - t) / 1000.0
            done[0] += 1
        if n:
            out["cpu_us_per_order"] = (_cpu() - cpu) * 1e6 / n

    # The orders run in a task watched from here: a client that stops answering
    # (no order completes for HANG_S) is cancelled and reported, with the samples
    # it did produce, instead of hanging the whole run. One wake-up per HANG_S.
    task = asyncio.ensure_future(sequential())
    while True:
        seen = done[0]
        finished, _ = await asyncio.wait({task}, timeout=HANG_S)
        if finished:
            task.result()
            break
        if done[0] == seen:
            task.cancel()
            k = max(0, done[0] - warmup)
            out["error"] = (
                f"hung: no reply for {HANG_S:.0f}s after {done[0]} sequential orders ({k} timed)"
            )
            out["hung"] = True
            if k:
                out["latency_us"] = samples[:k]
            return out  # the client is wedged: no pipelined runs, no close
    if n:
        out["latency_us"] = samples
    levels = plan.get("levels") or []
    if levels:
        total, seconds = plan["level_orders"], plan["level_seconds"]
        tput: dict[str, float | None] = {}
        tcpu: dict[str, float] = {}
        out["throughput"] = tput
        out["throughput_cpu_us"] = tcpu
        for level in levels:
            try:
                # A short warm-up at this concurrency (buffers, freelists), not timed.
                await _async_level(order, level, min(total // 4, 4 * level + 200), seconds / 4)
                cpu = _cpu()
                rate, done = await _async_level(order, level, total, seconds)
                tput[str(level)] = rate
                tcpu[str(level)] = (_cpu() - cpu) * 1e6 / max(done, 1)
            except asyncio.TimeoutError:
                tput[str(level)] = None
                out["error"] = f"{level} in flight: replies stopped coming (hung for {HANG_S:.0f}s)"
                out["hung"] = True
                return out  # the client is wedged: no report, no close
    extra = getattr(client, "report", None)
    if extra is not None:
        out.update(extra())
    await client.close()
    return out


def drive_sync(client: Any, plan: dict[str, Any]) -> dict[str, Any]:
    """Run ``plan`` against a blocking client; pipelining uses N threads."""
    out: dict[str, Any] = {}
    start = _ns()
    client.open()
    client.order()
    out["cold_s"] = (_ns() - start) / 1e9
    order = client.order
    for _ in range(plan.get("warmup", 0)):
        order()
    n = plan.get("orders", 0)
    if n:
        samples = [0.0] * n
        cpu = _cpu()
        for i in range(n):
            t = _ns()
            order()
            samples[i] = (_ns() - t) / 1000.0
        out["cpu_us_per_order"] = (_cpu() - cpu) * 1e6 / n
        out["latency_us"] = samples
    levels = plan.get("levels") or []
    if levels:
        total, seconds = plan["level_orders"], plan["level_seconds"]
        tput: dict[str, float | None] = {}
        tcpu: dict[str, float] = {}
        out["throughput"] = tput
        out["throughput_cpu_us"] = tcpu
        for level in levels:
            try:
                _threads(order, level, min(total // 4, 4 * level + 200), seconds / 4)  # warm-up
                cpu = _cpu()
                done, elapsed = _threads(order, level, total, seconds)
                tput[str(level)] = done / elapsed
                tcpu[str(level)] = (_cpu() - cpu) * 1e6 / max(done, 1)
            except TimeoutError:
                tput[str(level)] = None
                out["error"] = f"{level} threads: replies stopped coming (hung for {HANG_S:.0f}s)"
                out["hung"] = True
                return out
    extra = getattr(client, "report", None)
    if extra is not None:
        out.update(extra())
    client.close()
    return out


async def _async_level(
    order: Callable[[], Any], level: int, total: int, seconds: float
) -> tuple[float, int]:
    """Up to ``total`` orders (stopping after ``seconds``) over ``level`` coroutines:
    (orders per second, orders). Raises ``TimeoutError`` when the client stops answering."""
    import asyncio

    loop = asyncio.get_running_loop()
    left = [total]
    done = [0]
    deadline = loop.time() + seconds

    async def worker() -> None:
        while left[0] > 0 and loop.time() < deadline:
            left[0] -= 1
            await order()
            done[0] += 1

    t = _ns()
    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(level))), seconds + HANG_S)
    return done[0] / ((_ns() - t) / 1e9), done[0]


def _threads(
    order: Callable[[], Any], level: int, total: int, seconds: float = 1e9
) -> tuple[int, float]:
    """Up to ``total`` calls of ``order`` (stopping after ``seconds``) spread over
    ``level`` threads: (calls made, seconds taken). ``TimeoutError`` when stuck."""
    tickets = iter(range(total))  # next() on a range iterator is atomic under the GIL
    done = [0] * level
    errors: list[BaseException] = []
    barrier = threading.Barrier(level + 1)
    deadline = [0.0]
    clock = time.perf_counter

    def worker(k: int) -> None:
        barrier.wait()
        n = 0
        try:
            for _ in tickets:
                order()
                n += 1
                if clock() > deadline[0]:
                    break
        except BaseException as exc:
            errors.append(exc)
        done[k] = n

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(level)]
    for th in threads:
        th.start()
    deadline[0] = clock() + seconds
    barrier.wait()
    t = _ns()
    for th in threads:
        th.join(max(0.0, deadline[0] + HANG_S - clock()))
        if th.is_alive():
            raise TimeoutError
    elapsed = (_ns() - t) / 1e9
    if errors:
        raise errors[0]
    return sum(done), elapsed


def run_loop(main: Coroutine[Any, Any, Any], loop_name: str) -> Any:
    """Run ``main`` on a fresh loop: ``asyncio`` (stock) or ``uvloop``."""
    import asyncio

    if loop_name == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(main)
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def write_result(path: str, result: dict[str, Any]) -> None:
    with open(path, "w") as f:
        json.dump(result, f)


def read_plan(argv: list[str] | None = None) -> tuple[str, dict[str, Any], str]:
    """``CLIENT PLAN_JSON RESULT_FILE`` from the command line."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        raise SystemExit("usage: CLIENT PLAN_JSON RESULT_FILE")
    return args[0], json.loads(args[1]), args[2]

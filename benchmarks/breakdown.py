"""Where okxkc's per-order CPU goes: each step of the hot path timed on its own, in
one process, with no socket and no server, next to what the bare floor does for
the same step.

    python benchmarks/breakdown.py [--n 20000] [--repeat 5]

Prints the best (least disturbed) of ``--repeat`` runs, in µs per order. The steps
use okxkc's internals as they are at the time of the run (``_prepare``,
``engine``, the correlator, the adapter), so the table follows the code; a step
whose internals changed shape is reported as not measured instead of failing.

Steps, in the order an order travels:

1. the generated method builds its params dict and calls ``_call``/``_acall``;
2. ``_prepare``: checks, ``validate_item``, ``RequestMeta``;
3. the hand-off to the engine loop and back (a no-op coroutine): sync
   (``engine.run_sync``) against ``run_coroutine_threadsafe(...).result()``;
   async (``engine.run_async`` from another loop) against
   ``wrap_future(run_coroutine_threadsafe(...))``;
4. on the engine loop: request id, correlator entry (future + deadline timer),
   encode, then the reply: classify, pop, decode into the typed result.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from typing import Any

import msgspec

KEY = {"apiKey": "okxkc-test-key", "apiSecret": "okxkc-test-secret", "apiPass": "okxkc-test-pass"}
PARAMS = {
    "instIdCode": 100001,
    "tdMode": "cash",
    "side": "buy",
    "ordType": "ioc",
    "px": "20000",
    "sz": "0.01",
}
REPLY = (
    b'{"id":"%s","op":"order","code":"0","msg":"","data":[{"ordId":"700000000000001002",'
    b'"clOrdId":"","tag":"","ts":"1795319833422","sCode":"0","sMsg":"Order successfully '
    b'placed.","subCode":""}],"inTime":"1795319833422387","outTime":"1795319833422450"}'
)


def per_call(fn: Callable[[], Any], n: int, repeat: int) -> float:
    """Best of ``repeat`` runs of ``n`` calls: µs per call."""
    best = []
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        best.append((time.perf_counter() - t) / n * 1e6)
    return min(best)


def per_call_async(
    loop: asyncio.AbstractEventLoop, make: Callable[[], Any], n: int, repeat: int
) -> float:
    async def body() -> float:
        t = time.perf_counter()
        for _ in range(n):
            await make()
        return (time.perf_counter() - t) / n * 1e6

    return min(loop.run_until_complete(body()) for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n, repeat = args.n, args.repeat
    rows: list[tuple[str, str, float | None, float | None]] = []

    def row(step: str, what: str, okxkc: Callable[[], float], floor: Callable[[], float] | None):
        try:
            a: float | None = okxkc()
        except Exception as exc:
            print(f"  {step}: not measured ({exc!r})", file=sys.stderr)
            a = None
        b = floor() if floor is not None else None
        rows.append((step, what, a, b))

    from okxkc._engine.correlator import Correlator
    from okxkc._engine.loop import engine
    from okxkc.okx import AsyncWebsocketAPIClient, WebsocketAPIClient
    from okxkc.okx._base import operation

    sync = WebsocketAPIClient(accounts=[KEY], base_ws_url="ws://127.0.0.1:9")
    aclient = AsyncWebsocketAPIClient(accounts=[KEY], base_ws_url="ws://127.0.0.1:9")
    op = operation("submit_new_order")
    encode = msgspec.json.encode

    # 1 + 2: the facade up to the hand-off (the coroutine it would hand off is closed).
    def stub_send(idx: int, meta: Any, op: Any) -> Any:
        async def noop() -> None:
            return None

        return noop()

    def facade_sync_no_handoff() -> float:
        captured: list[Any] = []

        class _NoHandoff:
            @staticmethod
            def run_sync(coro: Any, what: str = "") -> Any:
                coro.close()
                captured.append(1)

        import okxkc._facade as facade_mod

        real = facade_mod.engine
        sync._send = stub_send  # type: ignore[method-assign]
        facade_mod.engine = _NoHandoff  # type: ignore[assignment]
        try:
            return per_call(lambda: sync.submit_new_order(**PARAMS), n, repeat)
        finally:
            facade_mod.engine = real
            del sync._send

    row(
        "1+2",
        "generated method + _prepare (validation, RequestMeta), no hand-off",
        facade_sync_no_handoff,
        lambda: per_call(
            lambda: encode({"id": "1", "op": "order", "args": [dict(PARAMS)]}), n, repeat
        ),
    )
    row(
        "2",
        "_prepare alone",
        lambda: per_call(lambda: sync._prepare(op, PARAMS, None, None, None, None), n, repeat),
        None,
    )
    from okxkc._ops import validate_item

    row(
        "2a",
        "validate_item alone",
        lambda: per_call(lambda: validate_item(op, PARAMS), n, repeat),
        None,
    )
    full_params = dict.fromkeys(op.fields)
    full_params.update(PARAMS)
    row(
        "2b",
        "validate_item with all 25 fields passed (24 None), as the generated method does",
        lambda: per_call(lambda: validate_item(op, full_params), n, repeat),
        None,
    )

    # 3: the hand-off, with a no-op coroutine.
    loop = engine.loop

    async def noop() -> None:
        return None

    row(
        "3s",
        "sync hand-off round trip: engine.run_sync(noop) vs run_coroutine_threadsafe().result()",
        lambda: per_call(lambda: engine.run_sync(noop()), n // 4, repeat),
        lambda: per_call(
            lambda: asyncio.run_coroutine_threadsafe(noop(), loop).result(), n // 4, repeat
        ),
    )
    caller = asyncio.new_event_loop()
    row(
        "3a",
        "async hand-off round trip from another loop: engine.run_async(noop) vs "
        "wrap_future(run_coroutine_threadsafe())",
        lambda: per_call_async(caller, lambda: engine.run_async(noop()), n // 4, repeat),
        lambda: per_call_async(
            caller,
            lambda: asyncio.wrap_future(asyncio.run_coroutine_threadsafe(noop(), loop)),
            n // 4,
            repeat,
        ),
    )

    # 4: engine-side bookkeeping, run on the engine loop.
    core = aclient._core
    adapter = core.adapter
    _, meta = aclient._prepare(op, PARAMS, None, None, None, None)

    def on_engine(fn: Callable[[], float]) -> float:
        async def go() -> float:
            return fn()

        return asyncio.run_coroutine_threadsafe(go(), loop).result()

    row("4a", "request id", lambda: per_call(core.next_id, n, repeat), None)

    def correlate() -> float:
        corr = Correlator(loop)
        deadline = loop.time() + 30

        def one() -> None:
            rid = core.next_id()
            corr.add(rid, meta, 1, deadline, lambda e: TimeoutError())
            entry = corr.pop(rid)
            assert entry is not None
            entry.future.cancel()

        return per_call(one, n, repeat)

    def floor_correlate() -> float:
        pending: dict[str, Any] = {}
        counter = iter(range(10**9))

        def one() -> None:
            rid = str(next(counter))
            pending[rid] = loop.create_future()
            pending.pop(rid).cancel()

        return per_call(one, n, repeat)

    row(
        "4b",
        "correlator add + pop (future + deadline timer) vs dict of futures",
        lambda: on_engine(correlate),
        lambda: on_engine(floor_correlate),
    )
    row(
        "4c",
        "encode the request frame",
        lambda: per_call(
            lambda: adapter.encode("abc123", meta.op, meta.args, meta.extras), n, repeat
        ),
        lambda: per_call(
            lambda: encode({"id": "abc123", "op": "order", "args": [PARAMS]}), n, repeat
        ),
    )
    reply = REPLY % b"abc123"

    def decode_reply() -> None:
        inc = adapter.classify(reply)
        adapter.finish(meta, inc, "private")

    def floor_decode() -> None:
        d = msgspec.json.decode(reply)
        if d.get("code") != "0":
            raise RuntimeError

    row(
        "4d",
        "reply: classify + decode into the typed result vs decode to dict + code check",
        lambda: per_call(decode_reply, n, repeat),
        lambda: per_call(floor_decode, n, repeat),
    )

    print(f"okxkc hot path, µs per order, no socket (best of {repeat} x {n:,})\n")
    print("| step | what | okxkc µs | floor µs | extra µs |")
    print("|---|---|---:|---:|---:|")
    for step, what, a, b in rows:
        extra = f"{a - b:+.2f}" if a is not None and b is not None else ""
        fa = f"{a:.2f}" if a is not None else "—"
        fb = f"{b:.2f}" if b is not None else ""
        print(f"| {step} | {what} | {fa} | {fb} | {extra} |")
    caller.close()
    sync.close()
    engine.run_sync(aclient.close())


if __name__ == "__main__":
    main()

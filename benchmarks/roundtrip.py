"""Sequential round trip of OKX ``order``: okxkc (sync and async facades) against
bare aiohttp + msgspec floors, all on one simulator process, in one run.

    python benchmarks/roundtrip.py [--orders 3000] [--rounds 3]

Prints p50 / p99 in µs per client and each okxkc figure as a ratio to its floor:
the sync facade against a bare client on a background loop thread called through
``run_coroutine_threadsafe`` (the least this design can cost), the async facade
against the same bare client awaited from another loop through ``wrap_future``.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import msgspec

KEY = {"apiKey": "okxkc-test-key", "apiSecret": "okxkc-test-secret", "apiPass": "okxkc-test-pass"}


def _serve(port_q: Any, stop: Any) -> None:
    from okxkc.testing.okx import OkxSimulator

    async def main() -> None:
        sim = OkxSimulator(rate_limits=False, record=False)
        await sim.start()
        port_q.put(sim.port)
        while not stop.is_set():
            await asyncio.sleep(0.1)
        await sim.stop()

    _new_loop().run_until_complete(main())


def _new_loop() -> asyncio.AbstractEventLoop:
    """The loop okxkc's engine uses (uvloop when installed), so floors are comparable."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _order(i: int, code: int) -> dict[str, Any]:
    return {
        "instIdCode": code,
        "tdMode": "cash",
        "side": "buy",
        "ordType": "limit",
        "px": "20000",
        "sz": "0.01",
    }


class BareClient:
    """The floor: one aiohttp socket, msgspec frames, a dict of futures. No library logic."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.pending: dict[str, asyncio.Future[Any]] = {}
        self.n = 0

    async def connect(self) -> None:
        import base64
        import hashlib
        import hmac

        self.session = aiohttp.ClientSession()
        self.ws = await self.session.ws_connect(f"ws://127.0.0.1:{self.port}/ws/v5/private")
        ts = str(int(time.time()))
        sign = base64.b64encode(
            hmac.new(
                KEY["apiSecret"].encode(), f"{ts}GET/users/self/verify".encode(), hashlib.sha256
            ).digest()
        ).decode()
        await self.ws.send_str(
            msgspec.json.encode(
                {
                    "op": "login",
                    "args": [
                        {
                            "apiKey": KEY["apiKey"],
                            "passphrase": KEY["apiPass"],
                            "timestamp": ts,
                            "sign": sign,
                        }
                    ],
                }
            ).decode()
        )
        await self.ws.receive()
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            reply = msgspec.json.decode(msg.data)
            fut = self.pending.pop(reply.get("id"), None)
            if fut is not None:
                fut.set_result(reply)

    async def order(self, args: dict[str, Any]) -> Any:
        self.n += 1
        rid = str(self.n)
        fut = asyncio.get_running_loop().create_future()
        self.pending[rid] = fut
        await self.ws.send_bytes(msgspec.json.encode({"id": rid, "op": "order", "args": [args]}))
        return await fut

    async def close(self) -> None:
        self.reader.cancel()
        await self.ws.close()
        await self.session.close()


def _percentiles(samples: list[float]) -> tuple[float, float]:
    s = sorted(samples)
    return s[len(s) // 2] * 1e6, s[int(len(s) * 0.99)] * 1e6


def _time(n: int, call: Callable[[int], Any]) -> list[float]:
    out = []
    for i in range(n):
        t = time.perf_counter()
        call(i)
        out.append(time.perf_counter() - t)
    return out


def bench_floor_thread(port: int, n: int, code: int) -> list[float]:
    loop = _new_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    bare = BareClient(port)
    asyncio.run_coroutine_threadsafe(bare.connect(), loop).result()
    samples = _time(
        n, lambda i: asyncio.run_coroutine_threadsafe(bare.order(_order(i, code)), loop).result()
    )
    asyncio.run_coroutine_threadsafe(bare.close(), loop).result()
    loop.call_soon_threadsafe(loop.stop)
    return samples


def bench_floor_async(port: int, n: int, code: int) -> list[float]:
    loop = _new_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    bare = BareClient(port)
    asyncio.run_coroutine_threadsafe(bare.connect(), loop).result()

    async def run() -> list[float]:
        out = []
        for i in range(n):
            t = time.perf_counter()
            await asyncio.wrap_future(
                asyncio.run_coroutine_threadsafe(bare.order(_order(i, code)), loop)
            )
            out.append(time.perf_counter() - t)
        return out

    samples = asyncio.run(run())
    asyncio.run_coroutine_threadsafe(bare.close(), loop).result()
    loop.call_soon_threadsafe(loop.stop)
    return samples


def bench_okxkc_sync(port: int, n: int, code: int) -> list[float]:
    from okxkc.okx import WebsocketAPIClient

    c = WebsocketAPIClient(
        accounts=[KEY], base_ws_url=f"ws://127.0.0.1:{port}", attach_event_listeners=False
    )
    c.connect_ws_api(["private"])
    samples = _time(n, lambda i: c.submit_new_order(**_order(i, code)))
    c.close()
    return samples


def bench_okxkc_async(port: int, n: int, code: int) -> list[float]:
    from okxkc.okx import AsyncWebsocketAPIClient

    async def run() -> list[float]:
        c = AsyncWebsocketAPIClient(
            accounts=[KEY], base_ws_url=f"ws://127.0.0.1:{port}", attach_event_listeners=False
        )
        await c.connect_ws_api(["private"])
        out = []
        for i in range(n):
            t = time.perf_counter()
            await c.submit_new_order(**_order(i, code))
            out.append(time.perf_counter() - t)
        await c.close()
        return out

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from okxkc.testing.okx import OkxSimulator

    code = OkxSimulator().inst_id_code("BTC-USDT")
    ctx = multiprocessing.get_context("spawn")
    port_q, stop = ctx.Queue(), ctx.Event()
    server = ctx.Process(target=_serve, args=(port_q, stop), daemon=True)
    server.start()
    port = port_q.get(timeout=30)
    clients = {
        "floor: bare client on a loop thread (sync)": bench_floor_thread,
        "okxkc sync facade": bench_okxkc_sync,
        "floor: bare client, awaited from another loop": bench_floor_async,
        "okxkc async facade": bench_okxkc_async,
    }
    p50s: dict[str, list[float]] = {k: [] for k in clients}
    p99s: dict[str, list[float]] = {k: [] for k in clients}
    try:
        for _ in range(args.rounds):
            for name, fn in clients.items():
                fn(port, min(300, args.orders), code)  # warm-up
                p50, p99 = _percentiles(fn(port, args.orders, code))
                p50s[name].append(p50)
                p99s[name].append(p99)
    finally:
        stop.set()
        server.join(10)
    med = {k: statistics.median(v) for k, v in p50s.items()}
    print(f"{args.orders} sequential OKX orders x {args.rounds} rounds (medians of rounds)\n")
    print("| client | p50 µs | p99 µs | ratio to its floor |")
    print("|---|---|---|---|")
    floors = {
        "okxkc sync facade": "floor: bare client on a loop thread (sync)",
        "okxkc async facade": "floor: bare client, awaited from another loop",
    }
    for name in clients:
        ratio = f"{med[name] / med[floors[name]]:.2f}x" if name in floors else "1.00x (floor)"
        print(f"| {name} | {med[name]:.0f} | {statistics.median(p99s[name]):.0f} | {ratio} |")


if __name__ == "__main__":
    main()

"""Benchmark clients that run in the project's environment: the bare floors and okxkc.

    python benchmarks/clients.py CLIENT PLAN_JSON RESULT_FILE

One client per process (``runner.py`` starts a fresh one for each measurement).
Every client places the same OKX ``order`` (or KuCoin ``spot.order``): an IOC
buy of 0.01 BTC-USDT at 20000, by ``instIdCode`` on OKX.

Floors: a bare aiohttp + msgspec client (one socket, a dict of futures, nothing
else), the least any Python client on aiohttp can cost:

- ``floor-asyncio`` / ``floor-uvloop``: on the caller's own loop, no thread;
- ``floor-thread-sync``: on a background uvloop thread, called from the main
  thread through ``run_coroutine_threadsafe(...).result()`` (okxkc's sync design);
- ``floor-thread-async``: the same background thread, awaited from the caller's
  own (stock asyncio) loop through ``wrap_future`` (okxkc's async design).

okxkc: ``okxkc-sync``, ``okxkc-async`` (caller on its own stock asyncio loop),
``okxkc-engine`` (``okxkc.run(main())``, engine-loop mode). KuCoin variants are
prefixed ``kucoin-``; the plan's ``kucoin_op`` picks the KuCoin order they send
(``spot``: ``spot.order``, ``uta``: ``uta.order``; ``KUCOIN`` below), floors and
okxkc alike. ``okxkc-memory`` is the long-run memory check (``memory.py``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import aiohttp
import msgspec

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _workload import drive_async, drive_sync, read_plan, run_loop, write_result

KEY = "okxkc-test-key"
SECRET = "okxkc-test-secret"
PASSPHRASE = "okxkc-test-pass"

_TEXT = aiohttp.WSMsgType.TEXT
_BINARY = aiohttp.WSMsgType.BINARY
_encode = msgspec.json.encode
_decode = msgspec.json.decode


def okx_order(code: int) -> dict[str, Any]:
    return {
        "instIdCode": code,
        "tdMode": "cash",
        "side": "buy",
        "ordType": "ioc",
        "px": "20000",
        "sz": "0.01",
    }


# The same IOC limit buy as a classic spot order and as a UTA order (the fields the
# official SDK's peer sends too): (wire op, okxkc method, args).
KUCOIN: dict[str, tuple[str, str, dict[str, Any]]] = {
    "spot": (
        "spot.order",
        "submit_new_spot_order",
        {
            "symbol": "BTC-USDT",
            "side": "buy",
            "type": "limit",
            "price": "20000",
            "size": "0.01",
            "timeInForce": "IOC",
        },
    ),
    "uta": (
        "uta.order",
        "submit_uta_order",
        {
            "tradeType": "SPOT",
            "symbol": "BTC-USDT",
            "side": "BUY",
            "orderType": "LIMIT",
            "size": "0.01",
            "sizeUnit": "BASECCY",
            "price": "20000",
            "timeInForce": "IOC",
        },
    ),
}


def _b64_hmac(secret: str, message: str) -> str:
    return base64.b64encode(
        hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    ).decode()


# -- the bare client (the floor) ----------------------------------------------------------


class Bare:
    """One aiohttp socket, msgspec frames, a dict of futures. No library logic.

    Same socket settings as okxkc (no compression, no text decoding, no size
    limit); every reply is decoded and its code checked, so a floor order is a
    checked order too.
    """

    def __init__(self, exchange: str, plan: dict[str, Any]) -> None:
        self.exchange = exchange
        self.plan = plan
        self.pending: dict[str, asyncio.Future[Any]] = {}
        self.n = 0
        self.prefix = f"b{os.getpid()}x"
        if exchange == "okx":
            self.op, self.ok = "order", "0"
            self.args: Any = [okx_order(plan["inst_id_code"])]
        else:
            self.op, _, self.args = KUCOIN[plan["kucoin_op"]]
            self.ok = "200000"

    async def connect(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.session = aiohttp.ClientSession()
        opts: dict[str, Any] = {
            "autoping": True,
            "compress": 0,
            "max_msg_size": 0,
            "decode_text": False,
        }
        if self.exchange == "okx":
            url = f"ws://127.0.0.1:{self.plan['okx_port']}/ws/v5/private"
            self.ws = await self.session.ws_connect(url, **opts)
            ts = str(int(time.time()))
            login = {
                "op": "login",
                "args": [
                    {
                        "apiKey": KEY,
                        "passphrase": PASSPHRASE,
                        "timestamp": ts,
                        "sign": _b64_hmac(SECRET, f"{ts}GET/users/self/verify"),
                    }
                ],
            }
            await self.ws.send_frame(_encode(login), _TEXT)
            reply = _decode((await self.ws.receive()).data)
            if reply.get("event") != "login":
                raise RuntimeError(f"login failed: {reply}")
        else:
            ts = str(int(time.time() * 1000))
            query = {
                "apikey": KEY,
                "timestamp": ts,
                "sign": _b64_hmac(SECRET, KEY + ts),
                "passphrase": _b64_hmac(SECRET, PASSPHRASE),
            }
            qs = "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())
            url = f"ws://127.0.0.1:{self.plan['kucoin_port']}/v1/private?{qs}"
            self.ws = await self.session.ws_connect(url, **opts)
            challenge = (await self.ws.receive()).data.decode()
            await self.ws.send_str(_b64_hmac(SECRET, challenge))
            welcome = _decode((await self.ws.receive()).data)
            if welcome.get("data") != "welcome":
                raise RuntimeError(f"session failed: {welcome}")
        self.reader = self.loop.create_task(self._read())

    async def _read(self) -> None:
        receive = self.ws.receive
        pending = self.pending
        while True:
            msg = await receive()
            if msg.type is _TEXT or msg.type is _BINARY:
                reply = _decode(msg.data)
                fut = pending.pop(reply.get("id"), None)
                if fut is not None and not fut.done():
                    fut.set_result(reply)
            else:
                for fut in pending.values():
                    if not fut.done():
                        fut.set_exception(ConnectionError(f"socket ended: {msg.type!r}"))
                pending.clear()
                return

    async def order(self) -> Any:
        self.n += 1
        rid = self.prefix + str(self.n)
        fut = self.loop.create_future()
        self.pending[rid] = fut
        await self.ws.send_frame(_encode({"id": rid, "op": self.op, "args": self.args}), _TEXT)
        reply = await fut
        if reply.get("code") != self.ok:
            raise RuntimeError(f"order rejected: {reply}")
        return reply

    async def close(self) -> None:
        self.reader.cancel()
        await self.ws.close()
        await self.session.close()


class FloorOwnLoop:
    """Floor (1): the bare client on the caller's own loop, no thread."""

    def __init__(self, exchange: str, plan: dict[str, Any]) -> None:
        self.bare = Bare(exchange, plan)

    async def open(self) -> None:
        await self.bare.connect()
        self.order = self.bare.order

    async def order(self) -> Any:  # replaced by the bound method in open()
        return await self.bare.order()

    async def close(self) -> None:
        await self.bare.close()


class _LoopThread:
    """A background uvloop thread, like okxkc's engine."""

    def start(self) -> asyncio.AbstractEventLoop:
        import uvloop

        self.loop = uvloop.new_event_loop()
        ready = threading.Event()

        def main() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.call_soon(ready.set)
            self.loop.run_forever()

        self.thread = threading.Thread(target=main, daemon=True)
        self.thread.start()
        ready.wait()
        return self.loop

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class FloorThreadSync:
    """Floor (2): the bare client on a loop thread, blocking calls from the caller."""

    def __init__(self, exchange: str, plan: dict[str, Any]) -> None:
        self.bare = Bare(exchange, plan)
        self.lt = _LoopThread()

    def open(self) -> None:
        self.loop = self.lt.start()
        asyncio.run_coroutine_threadsafe(self.bare.connect(), self.loop).result()

    def order(self) -> Any:
        return asyncio.run_coroutine_threadsafe(self.bare.order(), self.loop).result()

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.bare.close(), self.loop).result()
        self.lt.stop()


class FloorThreadAsync:
    """Floor (2b): the same loop thread, awaited from the caller's loop via wrap_future."""

    def __init__(self, exchange: str, plan: dict[str, Any]) -> None:
        self.bare = Bare(exchange, plan)
        self.lt = _LoopThread()

    async def open(self) -> None:
        self.loop = self.lt.start()
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self.bare.connect(), self.loop))

    async def order(self) -> Any:
        return await asyncio.wrap_future(
            asyncio.run_coroutine_threadsafe(self.bare.order(), self.loop)
        )

    async def close(self) -> None:
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self.bare.close(), self.loop))
        self.lt.stop()


# -- okxkc -------------------------------------------------------------------------------------


def _okxkc_kwargs(exchange: str, plan: dict[str, Any]) -> dict[str, Any]:
    extra = {"request_timeout": plan["request_timeout"]} if "request_timeout" in plan else {}
    if exchange == "okx":
        return {
            "accounts": [{"apiKey": KEY, "apiSecret": SECRET, "apiPass": PASSPHRASE}],
            "base_ws_url": f"ws://127.0.0.1:{plan['okx_port']}",
            **extra,
        }
    return {
        "api_key": KEY,
        "api_secret": SECRET,
        "api_passphrase": PASSPHRASE,
        "base_ws_url": f"ws://127.0.0.1:{plan['kucoin_port']}",
        **extra,
    }


def _okxkc_call(exchange: str, client: Any, plan: dict[str, Any]) -> Callable[[], Any]:
    if exchange == "okx":
        params = okx_order(plan["inst_id_code"])
        submit = client.submit_new_order
    else:
        _, method, params = KUCOIN[plan["kucoin_op"]]
        submit = getattr(client, method)
    return lambda: submit(**params)


class OkxkcSync:
    def __init__(self, exchange: str, plan: dict[str, Any]) -> None:
        self.exchange = exchange
        self.plan = plan
        mod = __import__(f"okxkc.{exchange}", fromlist=["WebsocketAPIClient"])
        self.cls = mod.WebsocketAPIClient

    def open(self) -> None:
        self.client = self.cls(**_okxkc_kwargs(self.exchange, self.plan))
        self.order = _okxkc_call(self.exchange, self.client, self.plan)

    def order(self) -> Any:  # replaced in open()
        raise AssertionError

    def report(self) -> dict[str, Any]:
        return {"pending_after": self.client.pending_requests()}

    def close(self) -> None:
        self.client.close()


class OkxkcAsync:
    def __init__(self, exchange: str, plan: dict[str, Any]) -> None:
        self.exchange = exchange
        self.plan = plan
        mod = __import__(f"okxkc.{exchange}", fromlist=["AsyncWebsocketAPIClient"])
        self.cls = mod.AsyncWebsocketAPIClient

    async def open(self) -> None:
        self.client = self.cls(**_okxkc_kwargs(self.exchange, self.plan))
        self.order = _okxkc_call(self.exchange, self.client, self.plan)

    async def order(self) -> Any:  # replaced in open()
        raise AssertionError

    def report(self) -> dict[str, Any]:
        return {"pending_after": self.client.pending_requests()}

    async def close(self) -> None:
        await self.client.close()


# -- entry point -------------------------------------------------------------------------------

_ASYNC: dict[str, tuple[type, str]] = {
    "floor-asyncio": (FloorOwnLoop, "asyncio"),
    "floor-uvloop": (FloorOwnLoop, "uvloop"),
    "floor-thread-async": (FloorThreadAsync, "asyncio"),
    "okxkc-async": (OkxkcAsync, "asyncio"),
}
_SYNC: dict[str, type] = {"floor-thread-sync": FloorThreadSync, "okxkc-sync": OkxkcSync}


def run(name: str, plan: dict[str, Any]) -> dict[str, Any]:
    exchange = "okx"
    if name.startswith("kucoin-"):
        exchange, name = "kucoin", name[len("kucoin-") :]
    if name == "okxkc-memory":
        from memory import memory

        return memory(plan)
    if name in _SYNC:
        return drive_sync(_SYNC[name](exchange, plan), plan)
    if name in _ASYNC:
        cls, loop_name = _ASYNC[name]
        return run_loop(drive_async(cls(exchange, plan), plan), loop_name)  # type: ignore[no-any-return]
    if name == "okxkc-engine":
        import okxkc

        client = OkxkcAsync(exchange, plan)
        t0 = time.perf_counter_ns()
        return okxkc.run(drive_async(client, plan, t0))  # type: ignore[no-any-return]
    raise SystemExit(f"unknown client {name!r}")


def main() -> None:
    name, plan, result_file = read_plan()
    out = run(name, plan)
    out["client"] = name
    write_result(result_file, out)


if __name__ == "__main__":
    main()

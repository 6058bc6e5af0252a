"""Client-side pacing (``pacing=True``): the exchange's published per-op limits are
kept by waiting inside each call's deadline; a call that cannot fit in time fails
at once with RateLimitError and is not sent. Off by default."""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from typing import Any

import pytest

from okxkc import kucoin as kc
from okxkc import okx
from okxkc._engine.pacing import Pacer
from okxkc.errors import RateLimitError
from okxkc.testing.kucoin import KucoinSimulator
from okxkc.testing.okx import OkxSimulator

from .conftest import kucoin_options, okx_options

ORDER = dict(instId="BTC-USDT", tdMode="cash", side="buy", ordType="limit", px="20000", sz="0.01")
FUT = dict(symbol="XBTUSDTM", side="buy", type="limit", price="30000", size=1, leverage=5)


def okx_sent(sim: OkxSimulator) -> int:
    return sum(1 for r in list(sim.received) if r.get("op") == "order")


async def test_okx_burst_of_500_on_one_instrument_is_paced_not_refused() -> None:
    with OkxSimulator() as sim:
        client = okx.AsyncWebsocketAPIClient({"pacing": True}, **okx_options(sim))
        assert client.config.pacing is True
        await client.connect_ws_api()
        t0 = time.monotonic()
        results = await asyncio.gather(
            *(client.submit_new_order(**ORDER, clOrdId=f"p{i}", timeout=30) for i in range(500)),
            return_exceptions=True,
        )
        elapsed = time.monotonic() - t0
        failed = [r for r in results if isinstance(r, BaseException)]
        assert failed == []
        assert all(r.data[0].sCode == "0" for r in results)
        # 60 per 2 s: the first 60 at once, then 8 more windows of 2 s (+ okxkc's margin)
        assert 16.0 <= elapsed <= 8 * 2.1 + 4.0
        assert okx_sent(sim) == 500
        await client.close()


async def test_okx_without_pacing_the_same_burst_is_refused() -> None:
    with OkxSimulator() as sim:
        client = okx.AsyncWebsocketAPIClient(**okx_options(sim))
        assert client.config.pacing is False  # off by default
        await client.connect_ws_api()
        results = await asyncio.gather(
            *(client.submit_new_order(**ORDER, clOrdId=f"n{i}") for i in range(100)),
            return_exceptions=True,
        )
        refused = [r for r in results if isinstance(r, RateLimitError)]
        assert len(refused) == 40  # 60 per 2 s per instrument
        await client.close()


def test_okx_blocking_callers_from_threads_are_paced() -> None:
    with OkxSimulator() as sim:
        client = okx.WebsocketAPIClient({"pacing": True}, **okx_options(sim))
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            results = list(
                pool.map(
                    lambda i: client.submit_new_order(**ORDER, clOrdId=f"s{i}", timeout=10),
                    range(75),
                )
            )
        assert all(r.data[0].sCode == "0" for r in results)
        assert time.monotonic() - t0 >= 2.0  # the 61st waited for the window
        client.close()


@pytest.mark.parametrize("facade_kind", ["async"])
async def test_kucoin_call_that_cannot_fit_its_deadline_fails_unsent(facade_kind: str) -> None:
    with KucoinSimulator() as sim:
        client = kc.AsyncWebsocketAPIClient({"pacing": True}, **kucoin_options(sim))
        await client.connect_ws_api(["futures"])
        # futures.order weighs 2 in the 2000-per-30-s futures pool: 1000 fit at once
        results: list[Any] = await asyncio.gather(
            *(client.submit_futures_order(**FUT, clientOid=f"k{i}") for i in range(1000))
        )
        assert all(r.code == "200000" for r in results)
        t0 = time.monotonic()
        with pytest.raises(RateLimitError) as err:
            await client.submit_futures_order(**FUT, clientOid="over", timeout=1.0)
        assert time.monotonic() - t0 < 0.5  # at once, not at the deadline
        assert err.value.code == "pacing" and err.value.sent is False
        assert not any(r.get("args", {}).get("clientOid") == "over" for r in list(sim.received))
        assert sim.stats["rate_limited"] == 0
        await client.close()


async def test_a_slot_is_held_until_its_request_ended_plus_the_window() -> None:
    # The exchange counts a request when it arrives, which may be long after it was
    # sent (a stalled link): its slot frees one window after the request *ended*.
    pacer = Pacer()
    cost = [("order:BTC-USDT", 1, 1, 0.2)]
    first = await pacer.acquire(cost, time.monotonic() + 5, "order")
    second = asyncio.ensure_future(pacer.acquire(cost, time.monotonic() + 5, "order"))
    await asyncio.sleep(0.4)  # twice the window, the first still in flight
    assert not second.done()
    pacer.release(first)
    ended = time.monotonic()
    await second
    assert time.monotonic() - ended >= 0.2 - 0.005  # the loop's timer resolution

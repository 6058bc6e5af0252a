# mypy: enable-error-code="ignore-without-code"
"""What a type checker (and so an editor) sees of okxkc's public API.

This file is checked by ``mypy tests/typing`` in CI (``.ci/run``); it is never run
(pytest collects only ``test_*.py``) and its functions are never called.

- ``assert_type`` lines prove the declared types: blocking methods return
  ``OkxResponse[OrderAck]`` and the like, awaitable ones a coroutine of the same.
- Lines that *must* be type errors carry ``# type: ignore[<code>]``. mypy --strict
  enables ``warn_unused_ignores``, so if one of them stops being an error (a
  parameter loses its type, a Literal widens to ``str``), the ignore is unused and
  the check fails; an error with another code is not covered by the ignore and
  fails too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from decimal import Decimal
from typing import Any, Literal

from typing_extensions import assert_type

import okxkc
from okxkc import kucoin, okx
from okxkc._engine.events import EventEmitter
from okxkc.config import KucoinAccount
from okxkc.kucoin import (
    FuturesBatchOrderItem,
    FuturesOrderAck,
    KucoinResponse,
    RateLimit,
    SpotCancelAck,
    SpotModifyAck,
    SpotOrderAck,
)
from okxkc.okx import AmendAck, CancelAck, MassCancelAck, OkxResponse, OrderAck
from okxkc.okx.client import BatchOrdersItem
from okxkc.testing.kucoin import KucoinSimulator
from okxkc.testing.okx import OkxSimulator

ACCOUNT = {"apiKey": "k", "apiSecret": "s", "apiPass": "p"}


# -- OKX, blocking --------------------------------------------------------------------------


def okx_blocking(client: okx.WebsocketAPIClient) -> None:
    placed = client.submit_new_order(
        instId="BTC-USDT", tdMode="cash", side="buy", ordType="limit", px="20000", sz="0.01"
    )
    assert_type(placed, OkxResponse[OrderAck])
    assert_type(placed.data, list[OrderAck])
    assert_type(placed.data[0].ordId, str)
    assert_type(placed.to_dict(), dict[str, Any])
    # numbers may be given as str, int, float or Decimal (sent as exact decimal text)
    client.submit_new_order(
        instId="BTC-USDT", tdMode="cash", side="buy", ordType="limit", px=Decimal("1.5"), sz=1
    )
    assert_type(client.amend_order(instId="BTC-USDT", ordId="1", newPx="1"), OkxResponse[AmendAck])
    assert_type(client.cancel_order(instId="BTC-USDT", ordId="1"), OkxResponse[CancelAck])
    assert_type(
        client.mass_cancel_orders(instType="OPTION", instFamily="BTC-USD"),
        OkxResponse[MassCancelAck],
    )
    batch: list[BatchOrdersItem] = [
        {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "market", "sz": "1"}
    ]
    assert_type(client.submit_multiple_orders(batch), OkxResponse[OrderAck])
    assert_type(client.send_ws_api_request("private", "order", [{}]), Any)
    assert_type(client.connect_ws_api(), None)
    assert_type(client.get_ws_client(), EventEmitter)
    with okx.WebsocketAPIClient(accounts=[ACCOUNT]) as same:
        assert_type(same, okx.WebsocketAPIClient)


def okx_blocking_mistakes(client: okx.WebsocketAPIClient) -> None:
    # a misspelt field name
    client.submit_new_order(instid="BTC-USDT", sz="1")  # type: ignore[call-arg]
    # a value outside the exchange's enumeration
    m: Literal["market"] = "market"
    client.submit_new_order(instId="X", tdMode="cash", side="BUY", ordType=m, sz=1)  # type: ignore[arg-type]
    # a field the exchange always requires, left out (here tdMode)
    client.submit_new_order(instId="BTC-USDT", side="buy", ordType="market", sz="1")  # type: ignore[call-arg]
    # (instId / instIdCode: one of them is needed, checked at run time)
    client.amend_order(ordId="1", newSz="2")
    # fields are keyword-only, as the exchange names them
    client.cancel_order("BTC-USDT", ordId="1")  # type: ignore[call-arg]
    # a price is a number or decimal text, never a list
    client.amend_order(instId="BTC-USDT", ordId="1", newPx=[1])  # type: ignore[arg-type]
    # a batch item with an unknown key
    client.submit_multiple_orders([{"instId": "X", "side": "buy", "size": "1"}])  # type: ignore[typeddict-unknown-key, typeddict-item]
    # a batch item without a field the exchange always requires (here sz)
    b: BatchOrdersItem = {"instId": "X", "tdMode": "cash", "side": "buy", "ordType": m}  # type: ignore[typeddict-item]
    client.submit_multiple_orders([b])
    ok: BatchOrdersItem = {"instId": "X", "tdMode": "cash", "side": "buy", "ordType": m, "sz": 1}
    client.submit_multiple_orders([ok])
    client.submit_new_order(instId="X", tdMode="cash", side="buy", ordType=m, sz=1, exp_time=5)
    # control keywords stay keywords with their own types
    client.submit_new_order(instId="X", tdMode="cash", side="buy", ordType=m, sz=1, exp_time="5")  # type: ignore[arg-type]
    # account is an index or an API key; timeout is seconds
    client.cancel_order(instId="BTC-USDT", ordId="1", account=[0])  # type: ignore[arg-type]
    client.cancel_order(instId="BTC-USDT", ordId="1", timeout="5")  # type: ignore[arg-type]
    # a KuCoin op does not exist on the OKX client
    client.submit_new_spot_order(symbol="BTC-USDT")  # type: ignore[attr-defined]
    # a REST-style params dict of plain strings does not fit the Literal fields ...
    params: dict[str, str] = {"instId": "BTC-USDT", "side": "buy"}
    client.submit_new_order(**params)  # type: ignore[arg-type]
    # ... while one typed dict[str, Any] (as parsed JSON is) passes, checked at run time
    loose: dict[str, Any] = {"instId": "BTC-USDT", "side": "buy"}
    client.submit_new_order(**loose)


# -- OKX, awaitable ------------------------------------------------------------------------


async def okx_awaitable(client: okx.AsyncWebsocketAPIClient) -> None:
    # (assert_type returns its argument: a bare coroutine statement would be flagged unused)
    call = assert_type(
        client.submit_new_order(
            instId="BTC-USDT", tdMode="cash", side="buy", ordType="limit", px="20000", sz="0.01"
        ),
        Coroutine[Any, Any, OkxResponse[OrderAck]],
    )
    placed = await call
    assert_type(placed, OkxResponse[OrderAck])
    cancel = assert_type(
        client.cancel_order(instId="BTC-USDT", ordId="1"),
        Coroutine[Any, Any, OkxResponse[CancelAck]],
    )
    assert_type(await cancel, OkxResponse[CancelAck])
    assert_type(
        await client.amend_order(instId="BTC-USDT", ordId="1", newSz="2"), OkxResponse[AmendAck]
    )
    results = await asyncio.gather(
        client.cancel_order(instId="BTC-USDT", ordId="1"),
        client.cancel_order(instId="BTC-USDT", ordId="2"),
    )
    assert_type(results, tuple[OkxResponse[CancelAck], OkxResponse[CancelAck]])
    assert_type(await client.send_ws_api_request("private", "order", [{}]), Any)
    assert_type(await client.connect_ws_api(), None)
    async with okx.AsyncWebsocketAPIClient(accounts=[ACCOUNT]) as same:
        assert_type(same, okx.AsyncWebsocketAPIClient)


async def okx_awaitable_mistakes(client: okx.AsyncWebsocketAPIClient) -> None:
    # forgetting await: the order is never sent, and mypy says so
    client.cancel_order(instId="BTC-USDT", ordId="1")  # type: ignore[unused-coroutine]
    # using the coroutine as if it were the reply
    print(client.cancel_order(instId="BTC-USDT", ordId="1").data)  # type: ignore[attr-defined]
    await client.submit_new_order(instId="X", tdMode="cash", side="buy", ordType="LIMIT", sz=1)  # type: ignore[arg-type]
    await client.submit_new_order(instId="BTC-USDT", tdMode="cash", ordType="limit", sz=1)  # type: ignore[call-arg]
    await client.submit_new_order(inst_id="BTC-USDT")  # type: ignore[call-arg]


# -- KuCoin ----------------------------------------------------------------------------------


def kucoin_blocking(client: kucoin.WebsocketAPIClient) -> None:
    placed = client.submit_new_spot_order(
        symbol="BTC-USDT", side="buy", type="limit", price="20000", size="0.001"
    )
    assert_type(placed, KucoinResponse[SpotOrderAck])
    assert_type(placed.data, SpotOrderAck)
    assert_type(placed.data.orderId, str | None)
    assert_type(placed.rate_limit, RateLimit | None)
    assert_type(
        client.modify_spot_order(symbol="BTC-USDT", orderId="1", newPrice="1"),
        KucoinResponse[SpotModifyAck],
    )
    assert_type(
        client.cancel_spot_order(symbol="BTC-USDT", orderId="1"), KucoinResponse[SpotCancelAck]
    )
    assert_type(
        client.submit_futures_order(
            symbol="XBTUSDTM",
            side="buy",
            type="limit",
            price="1",
            size=1,
            leverage=5,
            clientOid="c1",
        ),
        KucoinResponse[FuturesOrderAck],
    )
    assert_type(
        client.submit_multiple_futures_orders(
            [{"symbol": "XBTUSDTM", "side": "buy", "clientOid": "c1"}]
        ),
        KucoinResponse[list[FuturesBatchOrderItem]],
    )


def kucoin_blocking_mistakes(client: kucoin.WebsocketAPIClient) -> None:
    client.submit_new_spot_order(symbol="BTC-USDT", client_oid="x")  # type: ignore[call-arg]
    client.submit_new_spot_order(symbol="BTC-USDT", side="buy", type="stop")  # type: ignore[arg-type]
    # a field the exchange always requires, left out (here side; symbol in a batch item)
    client.submit_new_spot_order(symbol="BTC-USDT", type="market", funds="10")  # type: ignore[call-arg]
    client.submit_multiple_futures_orders([{"side": "buy", "clientOid": "c1"}])  # type: ignore[typeddict-item]
    client.submit_new_order(instId="BTC-USDT")  # type: ignore[attr-defined]


async def kucoin_awaitable(client: kucoin.AsyncWebsocketAPIClient) -> None:
    call = assert_type(
        client.submit_new_spot_order(symbol="BTC-USDT", side="buy", type="market", funds="10"),
        Coroutine[Any, Any, KucoinResponse[SpotOrderAck]],
    )
    assert_type(await call, KucoinResponse[SpotOrderAck])
    async with kucoin.AsyncWebsocketAPIClient(api_key="k", api_secret="s", api_passphrase="p") as c:
        assert_type(c, kucoin.AsyncWebsocketAPIClient)


# -- construction, simulators, top-level helpers ------------------------------------------


def construction() -> None:
    okx.WebsocketAPIClient(accounts=[ACCOUNT], market="EEA", demo_trading=True, exp_time=500)
    okx.WebsocketAPIClient({"accounts": [ACCOUNT], "demoTrading": True})  # Node-style options
    okx.WebsocketAPIClient(accounts=[ACCOUNT], logger=logging.getLogger("bot"))
    kucoin.WebsocketAPIClient(api_key="k", api_secret="s", api_passphrase="p", single_socket=True)
    okx.WebsocketAPIClient(accounts=[ACCOUNT], request_timeout="10")  # type: ignore[arg-type]
    okx.WebsocketAPIClient(accounts=[ACCOUNT], attach_listeners=False)  # type: ignore[call-arg]
    kucoin.WebsocketAPIClient(apiKey="k")  # type: ignore[call-arg]
    # a KuCoin account: an account object, a dict with the broker fields, or keywords
    kucoin.WebsocketAPIClient(
        accounts=[KucoinAccount(api_key="k", api_secret="s", api_passphrase="p")]
    )
    kucoin.WebsocketAPIClient(
        accounts=[
            {
                "apiKey": "k",
                "apiSecret": "s",
                "apiPassphrase": "p",
                "partner": "b",
                "partnerKey": "x",
            }
        ]
    )
    kucoin.WebsocketAPIClient(
        api_key="k", api_secret="s", api_passphrase="p", partner="b", partner_key="x"
    )
    okx.WebsocketAPIClient(accounts=[ACCOUNT], preload_instruments=["SPOT"], market="ASIA")  # type: ignore[arg-type]
    # the lazily imported top-level names are the same classes
    assert_type(okxkc.OkxWebsocketAPIClient(accounts=[ACCOUNT]), okx.WebsocketAPIClient)
    assert_type(okxkc.KucoinAccount(api_key="k", api_secret="s", api_passphrase="p"), KucoinAccount)
    assert_type(okxkc.__version__, str)


async def _main() -> int:
    return 1


def top_level() -> None:
    assert_type(okxkc.run(_main()), int)
    with OkxSimulator() as okx_sim, KucoinSimulator() as kc_sim:
        assert_type(okx_sim, OkxSimulator)
        assert_type(kc_sim, KucoinSimulator)
        assert_type(okx_sim.ws_url, str)
        assert_type(okx_sim.orders(), list[dict[str, Any]])

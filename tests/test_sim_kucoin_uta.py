"""The simulated KuCoin's UTA ops (``uta.order``, ``uta.amend``, ``uta.cancel``) with raw
frames: KuCoin's envelope, the shared order book, KuCoin's error codes."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from okxkc.testing.kucoin import MSG_DUPLICATE_CLIENT_OID, MSG_ORDER_NOT_FOUND, KucoinSimulator
from tests.test_sim_kucoin import NEED_ID, call, login
from tests.test_sim_kucoin_rest import FUTURES, SPOT, rest


def spot(**kw: Any) -> dict[str, Any]:
    return {
        "tradeType": "SPOT",
        "symbol": "BTC-USDT",
        "side": "BUY",
        "orderType": "LIMIT",
        "size": "0.5",
        "sizeUnit": "BASECCY",
        "price": "100",
        **kw,
    }


def futures(**kw: Any) -> dict[str, Any]:
    return {
        "tradeType": "FUTURES",
        "symbol": "XBTUSDTM",
        "side": "SELL",
        "orderType": "LIMIT",
        "size": "3",
        "sizeUnit": "UNIT",
        "price": "200",
        **kw,
    }


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def sim() -> AsyncIterator[KucoinSimulator]:
    async with KucoinSimulator() as s:
        yield s


@pytest.fixture
async def ws(
    sim: KucoinSimulator, http: aiohttp.ClientSession
) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    sock, _ = await login(http, sim)
    yield sock
    await sock.close()


async def test_uta_order_spot_envelope_and_book(
    sim: KucoinSimulator, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse
) -> None:
    reply = await call(ws, "uta.order", spot(clientOid="u1"), rid="abc")
    assert set(reply) == {"id", "op", "code", "data", "inTime", "outTime", "userRateLimit"}
    assert (reply["id"], reply["op"], reply["code"]) == ("abc", "uta.order", "200000")
    assert set(reply["data"]) == {"orderId", "clientOid"}
    oid = reply["data"]["orderId"]
    assert reply["data"]["clientOid"] == "u1" and re.fullmatch(r"[0-9a-f]{24}", oid)
    assert reply["userRateLimit"]["limit"] == 2000  # the Unified Account pool
    _, found = await rest(http, sim, f"{SPOT}/client-order/u1?symbol=BTC-USDT")
    order = found["data"]
    assert (order["id"], order["side"], order["type"], order["price"], order["size"]) == (
        oid,
        "buy",
        "limit",
        "100",
        "0.5",
    )
    assert order["active"] is True
    assert sim.received[-1]["op"] == "uta.order"


async def test_uta_order_futures_and_market(
    sim: KucoinSimulator, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse
) -> None:
    reply = await call(ws, "uta.order", futures(clientOid="uf1"))
    assert reply["code"] == "200000"
    _, found = await rest(http, sim, f"{FUTURES}/byClientOid?clientOid=uf1")
    assert (found["data"]["side"], found["data"]["size"], found["data"]["status"]) == (
        "sell",
        3,
        "open",
    )
    mkt = spot(orderType="MARKET", clientOid="um1")
    del mkt["price"]
    assert (await call(ws, "uta.order", mkt))["code"] == "200000"
    _, filled = await rest(http, sim, f"{SPOT}/client-order/um1?symbol=BTC-USDT")
    assert (filled["data"]["dealSize"], filled["data"]["active"]) == ("0.5", False)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"tradeType": None}, "tradeType"),
        ({"symbol": None}, "symbol"),
        ({"side": None}, "side"),
        ({"orderType": None}, "orderType"),
        ({"size": None}, "size"),
        ({"price": None}, "price"),
        ({"side": "buy"}, "side"),
        ({"orderType": "STOP"}, "orderType"),
        ({"tradeType": "MARGIN"}, "tradeType"),
        ({"sizeUnit": "LOTS"}, "sizeUnit"),
        ({"timeInForce": "DAY"}, "timeInForce"),
        ({"size": "-1"}, "size"),
        ({"price": "abc"}, "price"),
        ({"postOnly": "yes"}, "postOnly"),
        ({"triggerPrice": "90"}, "triggerDirection"),
        ({"clientOid": "x" * 41}, "clientOid"),
    ],
)
async def test_uta_order_bad_args(
    ws: aiohttp.ClientWebSocketResponse, change: dict[str, Any], field: str
) -> None:
    args = {k: v for k, v in {**spot(), **change}.items() if v is not None}
    reply = await call(ws, "uta.order", args)
    assert reply["code"] == "400100" and field in reply["msg"], reply
    assert "data" not in reply


async def test_uta_args_must_be_an_object(ws: aiohttp.ClientWebSocketResponse) -> None:
    reply = await call(ws, "uta.order", [spot()])
    assert reply["code"] == "400100" and "args" in reply["msg"]


async def test_uta_duplicate_client_oid(ws: aiohttp.ClientWebSocketResponse) -> None:
    assert (await call(ws, "uta.order", spot(clientOid="dup")))["code"] == "200000"
    again = await call(ws, "uta.order", spot(clientOid="dup"))
    assert (again["code"], again["msg"]) == ("400100", MSG_DUPLICATE_CLIENT_OID)
    # A classic spot order with the same client id collides too: one book.
    classic = {"symbol": "BTC-USDT", "side": "buy", "type": "limit", "price": "1", "size": "1"}
    assert (await call(ws, "spot.order", {**classic, "clientOid": "dup"}))["code"] == "400100"


async def test_uta_amend_keeps_the_order_id(
    sim: KucoinSimulator, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse
) -> None:
    oid = (await call(ws, "uta.order", spot(clientOid="am1")))["data"]["orderId"]
    reply = await call(
        ws, "uta.amend", {"symbol": "BTC-USDT", "clientOid": "am1", "newPrice": "101"}
    )
    assert reply["code"] == "200000" and reply["op"] == "uta.amend"
    assert reply["data"] == {"orderId": oid, "clientOid": "am1"}
    by_id = {"symbol": "BTC-USDT", "orderId": oid, "newSize": "0.75"}
    assert (await call(ws, "uta.amend", by_id))["data"]["orderId"] == oid
    _, found = await rest(http, sim, f"{SPOT}/{oid}?symbol=BTC-USDT")
    assert (found["data"]["price"], found["data"]["size"], found["data"]["active"]) == (
        "101",
        "0.75",
        True,
    )


async def test_uta_amend_replaces_when_configured(http: aiohttp.ClientSession) -> None:
    async with KucoinSimulator(uta_amend_replaces=True) as sim:
        ws, _ = await login(http, sim)
        oid = (await call(ws, "uta.order", futures(clientOid="r1")))["data"]["orderId"]
        amend = {"symbol": "XBTUSDTM", "clientOid": "r1", "newPrice": "201"}
        new = (await call(ws, "uta.amend", amend))["data"]
        assert new["orderId"] != oid and new["clientOid"] == "r1"
        _, old = await rest(http, sim, f"{FUTURES}/{oid}")
        assert (old["data"]["status"], old["data"]["cancelExist"]) == ("done", True)
        _, now = await rest(http, sim, f"{FUTURES}/byClientOid?clientOid=r1")
        assert (now["data"]["id"], now["data"]["price"]) == (new["orderId"], "201")
        await ws.close()


@pytest.mark.parametrize(
    ("args", "code", "msg"),
    [
        ({"symbol": "BTC-USDT", "newPrice": "1"}, "400102", NEED_ID),
        ({"symbol": "BTC-USDT", "clientOid": "nobody", "newPrice": "1"}, "400100", None),
        ({"clientOid": "a1", "newPrice": "1"}, "400100", "symbol"),
        ({"symbol": "BTC-USDT", "clientOid": "a1"}, "400100", "newPrice"),
        ({"symbol": "BTC-USDT", "clientOid": "a1", "newPrice": "0"}, "400100", "newPrice"),
        ({"symbol": "ETH-USDT", "clientOid": "a1", "newPrice": "1"}, "400100", None),
    ],
)
async def test_uta_amend_refusals(
    ws: aiohttp.ClientWebSocketResponse, args: dict[str, Any], code: str, msg: str | None
) -> None:
    assert (await call(ws, "uta.order", spot(clientOid="a1")))["code"] == "200000"
    reply = await call(ws, "uta.amend", args)
    assert reply["code"] == code
    assert (msg or MSG_ORDER_NOT_FOUND) in reply["msg"]


async def test_uta_cancel(
    sim: KucoinSimulator, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse
) -> None:
    oid = (await call(ws, "uta.order", futures(clientOid="c1")))["data"]["orderId"]
    args = {"tradeType": "FUTURES", "symbol": "XBTUSDTM", "orderId": oid}
    reply = await call(ws, "uta.cancel", args)
    assert (reply["code"], reply["data"]) == ("200000", {"orderId": oid, "clientOid": "c1"})
    _, found = await rest(http, sim, f"{FUTURES}/{oid}")
    assert (found["data"]["status"], found["data"]["cancelExist"]) == ("done", True)
    again = await call(ws, "uta.cancel", args)
    assert (again["code"], again["msg"]) == ("400100", MSG_ORDER_NOT_FOUND)
    # The order is a futures order: a SPOT cancel by client id does not reach it.
    oid2 = (await call(ws, "uta.order", futures(clientOid="c2")))["data"]["orderId"]
    wrong = await call(ws, "uta.cancel", {"tradeType": "SPOT", "clientOid": "c2"})
    assert wrong["code"] == "400100"
    no_type = await call(ws, "uta.cancel", {"orderId": oid2})
    assert no_type["code"] == "400100" and "tradeType" in no_type["msg"]
    no_id = await call(ws, "uta.cancel", {"tradeType": "FUTURES", "symbol": "XBTUSDTM"})
    assert (no_id["code"], no_id["msg"]) == ("400102", NEED_ID)


async def test_uta_strict_rules_are_opt_in(http: aiohttp.ClientSession) -> None:
    lenient_args = futures()
    del lenient_args["sizeUnit"]  # and no clientOid
    async with KucoinSimulator() as sim:
        ws, _ = await login(http, sim)
        assert (await call(ws, "uta.order", lenient_args))["code"] == "200000"
        assert (await call(ws, "uta.order", spot(clientOid="a.b")))["code"] == "200000"
        await ws.close()
    async with KucoinSimulator(uta_strict=True) as sim:
        ws, _ = await login(http, sim)
        reply = await call(ws, "uta.order", lenient_args)
        assert reply["code"] == "400100" and "sizeUnit" in reply["msg"]
        reply = await call(ws, "uta.order", futures())
        assert reply["code"] == "400100" and "clientOid" in reply["msg"]
        reply = await call(ws, "uta.order", spot(clientOid="a.b"))
        assert reply["code"] == "400100" and "clientOid" in reply["msg"]
        reply = await call(ws, "uta.order", futures(clientOid="g1", timeInForce="GTT"))
        assert reply["code"] == "400100" and "timeInForce" in reply["msg"]
        await ws.close()


async def test_uta_margin_trade_type_when_enabled(http: aiohttp.ClientSession) -> None:
    async with KucoinSimulator(uta_trade_types=("SPOT", "FUTURES", "CROSS")) as sim:
        ws, _ = await login(http, sim)
        reply = await call(ws, "uta.order", spot(tradeType="CROSS", clientOid="m1"))
        assert reply["code"] == "200000"
        _, found = await rest(http, sim, "/api/v3/hf/margin/orders/client-order/m1?symbol=BTC-USDT")
        assert found["data"]["id"] == reply["data"]["orderId"]
        await ws.close()


async def test_uta_rate_limit_pool(http: aiohttp.ClientSession) -> None:
    async with KucoinSimulator(uta_pool_limit=2) as sim:
        ws, _ = await login(http, sim)
        codes = [(await call(ws, "uta.order", spot()))["code"] for _ in range(3)]
        assert codes == ["200000", "200000", "429000"]
        # The classic spot pool is separate.
        classic = {"symbol": "BTC-USDT", "side": "buy", "type": "market", "size": "1"}
        assert (await call(ws, "spot.order", classic))["code"] == "200000"
        await ws.close()


async def test_uta_frames_are_answered_by_id_out_of_order(
    ws: aiohttp.ClientWebSocketResponse, sim: KucoinSimulator
) -> None:
    sim.faults.delay_next(0.2, op="uta.order")
    await ws.send_str(json.dumps({"id": "slow", "op": "uta.order", "args": spot()}))
    await ws.send_str(json.dumps({"id": "fast", "op": "uta.cancel", "args": {"tradeType": "SPOT"}}))
    first = json.loads(await ws.receive_str(timeout=3))
    second = json.loads(await ws.receive_str(timeout=3))
    assert (first["id"], first["code"]) == ("fast", "400102")
    assert (second["id"], second["code"]) == ("slow", "200000")

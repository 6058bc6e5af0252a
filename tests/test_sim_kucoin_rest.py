"""The simulated KuCoin's signed REST order look-ups, driven by a raw aiohttp client that
signs on its own: the same order book the sockets trade on, found by client id or id."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from yarl import URL

from okxkc.testing.kucoin import KucoinCredential, KucoinSimulator
from tests.test_sim_kucoin import KEY, PASS, SECRET, call, fut, limit, login, sign

SPOT = "/api/v1/hf/orders"
MARGIN = "/api/v3/hf/margin/orders"
FUTURES = "/api/v1/orders"


async def rest(
    http: aiohttp.ClientSession,
    sim: KucoinSimulator,
    path: str,
    *,
    key: str = KEY,
    secret: str = SECRET,
    passphrase: str = PASS,
    version: str | None = "3",
    ts: int | None = None,
    signed_path: str | None = None,
    drop: tuple[str, ...] = (),
) -> tuple[int, Any]:
    """GET ``path`` signed the way KuCoin's REST docs say: base64 HMAC-SHA256 of
    timestamp + method + endpoint-with-query + body, passphrase signed too."""
    stamp = str(int(time.time() * 1000) if ts is None else ts)
    headers = {
        "KC-API-KEY": key,
        "KC-API-SIGN": sign(secret, stamp + "GET" + (path if signed_path is None else signed_path)),
        "KC-API-TIMESTAMP": stamp,
        "KC-API-PASSPHRASE": sign(secret, passphrase),
    }
    if version is not None:
        headers["KC-API-KEY-VERSION"] = version
    for name in drop:
        headers.pop(name)
    async with http.get(URL(sim.url + path, encoded=True), headers=headers) as resp:
        return resp.status, json.loads(await resp.text())


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


async def test_spot_order_found_by_client_id_and_id_open_then_canceled(
    sim: KucoinSimulator, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse
) -> None:
    placed = await call(ws, "spot.order", limit(clientOid="look1", postOnly=True, remark="hi"))
    oid = placed["data"]["orderId"]
    status, body = await rest(http, sim, f"{SPOT}/client-order/look1?symbol=BTC-USDT")
    assert status == 200 and body["code"] == "200000"
    order = body["data"]
    assert order["id"] == oid and order["clientOid"] == "look1"
    assert (order["symbol"], order["side"], order["type"]) == ("BTC-USDT", "buy", "limit")
    assert (order["price"], order["size"], order["dealSize"]) == ("100", "2", "0")
    assert (order["active"], order["inOrderBook"], order["cancelExist"]) == (True, True, False)
    assert order["postOnly"] is True and order["remark"] == "hi"
    assert order["tradeType"] == "TRADE" and order["timeInForce"] == "GTC"
    assert abs(order["createdAt"] - time.time() * 1000) < 5000
    _, by_id = await rest(http, sim, f"{SPOT}/{oid}?symbol=BTC-USDT")
    assert by_id["data"] == order

    assert (await call(ws, "spot.cancel", {"symbol": "BTC-USDT", "clientOid": "look1"}))[
        "code"
    ] == "200000"
    _, after = await rest(http, sim, f"{SPOT}/client-order/look1?symbol=BTC-USDT")
    gone = after["data"]
    assert (gone["id"], gone["active"], gone["inOrderBook"]) == (oid, False, False)
    assert (gone["cancelExist"], gone["cancelledSize"], gone["remainSize"]) == (True, "2", "0")
    assert sim.stats["rest_requests"] == 3


async def test_filled_orders_stay_findable(
    sim: KucoinSimulator, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse
) -> None:
    oid = (await call(ws, "spot.order", limit(clientOid="fill1")))["data"]["orderId"]
    sim.fill(oid, "0.5")
    _, part = await rest(http, sim, f"{SPOT}/client-order/fill1?symbol=BTC-USDT")
    assert (part["data"]["dealSize"], part["data"]["dealFunds"]) == ("0.5", "50")
    assert part["data"]["active"] is True and part["data"]["remainSize"] == "1.5"
    sim.fill(oid)
    _, done = await rest(http, sim, f"{SPOT}/{oid}?symbol=BTC-USDT")
    assert (done["data"]["dealSize"], done["data"]["active"]) == ("2", False)
    assert done["data"]["cancelExist"] is False
    # An immediately filled market order is findable too.
    mkt = {"symbol": "ETH-USDT", "side": "sell", "type": "market", "size": "1", "clientOid": "m1"}
    assert (await call(ws, "spot.order", mkt))["code"] == "200000"
    _, m = await rest(http, sim, f"{SPOT}/client-order/m1?symbol=ETH-USDT")
    assert (m["data"]["type"], m["data"]["dealSize"], m["data"]["active"]) == ("market", "1", False)


async def test_amend_is_visible(
    sim: KucoinSimulator, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse
) -> None:
    oid = (await call(ws, "spot.order", limit(clientOid="am1")))["data"]["orderId"]
    mod = await call(
        ws, "spot.modify", {"symbol": "BTC-USDT", "clientOid": "am1", "newPrice": "101"}
    )
    new_id = mod["data"]["newOrderId"]
    _, now = await rest(http, sim, f"{SPOT}/client-order/am1?symbol=BTC-USDT")
    assert (now["data"]["id"], now["data"]["price"], now["data"]["active"]) == (new_id, "101", True)
    _, old = await rest(http, sim, f"{SPOT}/{oid}?symbol=BTC-USDT")
    assert (old["data"]["price"], old["data"]["active"], old["data"]["cancelExist"]) == (
        "100",
        False,
        True,
    )


async def test_margin_lookup(
    sim: KucoinSimulator, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse
) -> None:
    args = limit(clientOid="mg1", isIsolated=True)
    oid = (await call(ws, "margin.order", args))["data"]["orderId"]
    _, body = await rest(http, sim, f"{MARGIN}/client-order/mg1?symbol=BTC-USDT")
    assert body["data"]["id"] == oid and body["data"]["tradeType"] == "MARGIN_ISOLATED_TRADE"
    _, by_id = await rest(http, sim, f"{MARGIN}/{oid}?symbol=BTC-USDT")
    assert by_id["data"]["clientOid"] == "mg1"
    # The margin book is not the spot book.
    _, spot = await rest(http, sim, f"{SPOT}/client-order/mg1?symbol=BTC-USDT")
    assert (spot["code"], spot["msg"]) == ("400100", "order not exist.")


async def test_futures_lookup_open_then_done(
    sim: KucoinSimulator, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse
) -> None:
    oid = (await call(ws, "futures.order", fut(clientOid="f1", reduceOnly=True)))["data"]["orderId"]
    status, body = await rest(http, sim, f"{FUTURES}/byClientOid?clientOid=f1")
    assert status == 200 and body["code"] == "200000"
    order = body["data"]
    assert (order["id"], order["clientOid"], order["symbol"]) == (oid, "f1", "XBTUSDTM")
    assert (order["status"], order["isActive"], order["size"], order["filledSize"]) == (
        "open",
        True,
        3,
        0,
    )
    assert (order["leverage"], order["reduceOnly"], order["settleCurrency"]) == ("5", True, "USDT")
    assert order["value"] == "300" and order["endAt"] is None
    _, by_id = await rest(http, sim, f"{FUTURES}/{oid}")
    assert by_id["data"] == order
    sim.fill(oid, 1)
    await call(ws, "futures.cancel", {"orderId": oid})
    _, done = await rest(http, sim, f"{FUTURES}/byClientOid?clientOid=f1&symbol=XBTUSDTM")
    d = done["data"]
    assert (d["status"], d["isActive"], d["filledSize"], d["cancelExist"]) == (
        "done",
        False,
        1,
        True,
    )
    assert d["filledValue"] == "100" and d["endAt"] is not None


@pytest.mark.parametrize(
    ("path", "code", "msg"),
    [
        (f"{SPOT}/client-order/nobody?symbol=BTC-USDT", "400100", "order not exist."),
        (f"{SPOT}/0123456789abcdef01234567?symbol=BTC-USDT", "400100", "order not exist."),
        (f"{MARGIN}/client-order/nobody?symbol=BTC-USDT", "400100", "order not exist."),
        (f"{FUTURES}/byClientOid?clientOid=nobody", "100001", "error.getOrder.orderNotExist"),
        (f"{FUTURES}/123456789", "100001", "error.getOrder.orderNotExist"),
    ],
)
async def test_not_found_error_form(
    sim: KucoinSimulator, http: aiohttp.ClientSession, path: str, code: str, msg: str
) -> None:
    status, body = await rest(http, sim, path)
    assert (status, body) == (200, {"code": code, "msg": msg})
    assert sim.stats["rest_not_found"] == 1


@pytest.mark.parametrize(("form", "data"), [("null", None), ("empty", {})])
async def test_not_found_empty_forms(http: aiohttp.ClientSession, form: str, data: Any) -> None:
    async with KucoinSimulator(rest_not_found=form) as sim:
        for path in (
            f"{SPOT}/client-order/x?symbol=BTC-USDT",
            f"{FUTURES}/byClientOid?clientOid=x",
        ):
            assert await rest(http, sim, path) == (200, {"code": "200000", "data": data})


def test_not_found_form_is_checked() -> None:
    with pytest.raises(ValueError, match="rest_not_found"):
        KucoinSimulator(rest_not_found="404")


async def test_wrong_symbol_or_account_finds_nothing(
    http: aiohttp.ClientSession,
) -> None:
    creds = [KucoinCredential(KEY, SECRET, PASS), KucoinCredential("k2", "s2", "p2")]
    async with KucoinSimulator(credentials=creds) as sim:
        ws, _ = await login(http, sim)
        await call(ws, "spot.order", limit(clientOid="mine"))
        await ws.close()
        _, wrong_sym = await rest(http, sim, f"{SPOT}/client-order/mine?symbol=ETH-USDT")
        assert wrong_sym["code"] == "400100"
        _, other = await rest(
            http,
            sim,
            f"{SPOT}/client-order/mine?symbol=BTC-USDT",
            key="k2",
            secret="s2",
            passphrase="p2",
        )
        assert other["code"] == "400100"
        _, no_symbol = await rest(http, sim, f"{SPOT}/client-order/mine")
        assert no_symbol["code"] == "400100" and "symbol" in no_symbol["msg"]


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"drop": ("KC-API-SIGN",)}, "400001"),
        ({"drop": ("KC-API-PASSPHRASE",)}, "400001"),
        ({"key": "nobody"}, "400003"),
        ({"ts": int(time.time() * 1000) - 60_000}, "400002"),
        ({"secret": "wrong"}, "400005"),
        ({"signed_path": "/api/v1/orders/byClientOid?clientOid=other"}, "400005"),
        ({"passphrase": "wrong"}, "400004"),
        ({"version": None}, "400009"),
        ({"version": "1"}, "400008"),
    ],
)
async def test_rest_authentication_failures(
    sim: KucoinSimulator, http: aiohttp.ClientSession, kw: dict[str, Any], code: str
) -> None:
    status, body = await rest(http, sim, f"{FUTURES}/byClientOid?clientOid=x", **kw)
    assert status == 401 and body["code"] == code and body["msg"]
    assert sim.stats["rest_auth_failed"] == 1 and sim.stats["rest_not_found"] == 0


async def test_key_version_2_and_the_simulated_clock(http: aiohttp.ClientSession) -> None:
    async with KucoinSimulator(clock_offset_ms=60_000) as sim:
        path = f"{FUTURES}/byClientOid?clientOid=x"
        assert (await rest(http, sim, path))[1]["code"] == "400002"
        ts = int(time.time() * 1000) + 60_000
        assert (await rest(http, sim, path, ts=ts, version="2"))[1]["code"] == "100001"


async def test_signature_over_the_decoded_or_the_sent_query(
    sim: KucoinSimulator, http: aiohttp.ClientSession
) -> None:
    sent = f"{FUTURES}/byClientOid?clientOid=a%20b"
    for signed in (sent, f"{FUTURES}/byClientOid?clientOid=a b"):
        status, body = await rest(http, sim, sent, signed_path=signed)
        assert (status, body["code"]) == (200, "100001")


@pytest.mark.parametrize("process", [True, False])
async def test_drop_after_or_before_execution_then_look_up(
    sim: KucoinSimulator, http: aiohttp.ClientSession, process: bool
) -> None:
    """The socket dies before the reply; REST tells whether the order exists."""
    ws, _ = await login(http, sim)
    sim.faults.drop_next("futures.order", process=process)
    await ws.send_str(
        json.dumps({"id": "1", "op": "futures.order", "args": fut(clientOid="lost1")})
    )
    msg = await ws.receive(timeout=3)
    assert msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR), msg
    _, body = await rest(http, sim, f"{FUTURES}/byClientOid?clientOid=lost1")
    if process:
        assert body["code"] == "200000" and body["data"]["status"] == "open"
    else:
        assert body["code"] == "100001"


async def test_rest_outage_and_delay(sim: KucoinSimulator, http: aiohttp.ClientSession) -> None:
    path = f"{FUTURES}/byClientOid?clientOid=x"
    sim.rest_available = False
    status, body = await rest(http, sim, path)
    assert status == 503 and body["code"] == "500000"
    sim.rest_available = True
    sim.rest_delay = 0.3
    started = time.monotonic()
    assert (await rest(http, sim, path))[1]["code"] == "100001"
    assert time.monotonic() - started >= 0.25


async def test_drop_then_execute_applies_the_queued_request_later(
    sim: KucoinSimulator, http: aiohttp.ClientSession
) -> None:
    ws, _ = await login(http, sim)
    sim.faults.drop_then_execute("spot.order", after=0.3)
    await ws.send_str(json.dumps({"id": "1", "op": "spot.order", "args": limit(clientOid="q1")}))
    msg = await ws.receive(timeout=3)
    assert msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR), msg
    path = f"{SPOT}/client-order/q1?symbol=BTC-USDT"
    assert (await rest(http, sim, path))[1]["code"] == "400100"  # not yet
    await asyncio.sleep(0.5)
    _, body = await rest(http, sim, path)
    assert (body["code"], body["data"]["active"]) == ("200000", True)
    # With an allowMaxTimeWindow that passes while it waits, it never takes effect.
    ws, _ = await login(http, sim)
    sim.faults.drop_then_execute("spot.order", after=0.3)
    late = limit(clientOid="q2", allowMaxTimeWindow=100, clientTimestamp=sim.now_ms())
    await ws.send_str(json.dumps({"id": "2", "op": "spot.order", "args": late}))
    await ws.receive(timeout=3)
    await asyncio.sleep(0.5)
    assert (await rest(http, sim, f"{SPOT}/client-order/q2?symbol=BTC-USDT"))[1]["code"] == (
        "400100"
    )
    assert sim.faults.injected["drop_queued"] == 2


async def test_fail_rest_next(sim: KucoinSimulator, http: aiohttp.ClientSession) -> None:
    sim.faults.fail_rest_next(2, status=502)
    path = f"{FUTURES}/byClientOid?clientOid=x"
    for _ in range(2):
        async with http.get(sim.url + path) as resp:
            assert resp.status == 502
    assert (await rest(http, sim, path))[1]["code"] == "100001"


async def test_tls_listener_serves_wss_and_https() -> None:
    pytest.importorskip("trustme")
    async with KucoinSimulator(tls=True) as sim:
        assert sim.private_url.startswith("wss://") and sim.url.startswith("https://")
        connector = aiohttp.TCPConnector(ssl=sim.client_ssl_context())
        async with aiohttp.ClientSession(connector=connector) as https:
            ws, _ = await login(https, sim)
            assert (await call(ws, "spot.order", limit(clientOid="tls1")))["code"] == "200000"
            await ws.close()
            _, body = await rest(https, sim, f"{SPOT}/client-order/tls1?symbol=BTC-USDT")
            assert body["data"]["clientOid"] == "tls1"
        async with aiohttp.ClientSession() as untrusting:
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                await untrusting.ws_connect(sim.private_url)

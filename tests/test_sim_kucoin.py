"""The simulated KuCoin WS API, driven by a plain aiohttp client that signs on its own."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest

from okxkc.testing.kucoin import (
    MSG_DUPLICATE_CLIENT_OID,
    MSG_ORDER_NOT_FOUND,
    ORDER_EXPIRED,
    KucoinCredential,
    KucoinSimulator,
)

KEY, SECRET, PASS = "okxkc-test-key", "okxkc-test-secret", "okxkc-test-pass"
NEED_ID = "Please check the param of your request: clientOid or orderId is required"


def sign(secret: str, msg: str) -> str:
    return base64.b64encode(
        hmac.new(secret.encode(), msg.encode(), hashlib.sha256).digest()
    ).decode()


def login_url(
    sim: KucoinSimulator,
    *,
    key: str = KEY,
    secret: str = SECRET,
    passphrase: str = PASS,
    ts: int | None = None,
    drop: tuple[str, ...] = (),
    **extra: str,
) -> str:
    ts = int(time.time() * 1000) if ts is None else ts
    params = {
        "apikey": key,
        "timestamp": str(ts),
        "sign": sign(secret, f"{key}{ts}"),
        "passphrase": sign(secret, passphrase),
        **extra,
    }
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items() if k not in drop)
    return f"{sim.private_url}?{query}"


async def next_json(ws: aiohttp.ClientWebSocketResponse, timeout: float = 3.0) -> Any:
    msg = await ws.receive(timeout=timeout)
    assert msg.type is aiohttp.WSMsgType.TEXT, msg
    return json.loads(msg.data)


async def login(
    http: aiohttp.ClientSession, sim: KucoinSimulator, **url_kw: Any
) -> tuple[aiohttp.ClientWebSocketResponse, dict[str, Any]]:
    ws = await http.ws_connect(login_url(sim, **url_kw))
    challenge = await ws.receive_str(timeout=3)
    await ws.send_str(sign(url_kw.get("secret", SECRET), challenge))
    welcome = await next_json(ws)
    assert welcome["data"] == "welcome", welcome
    return ws, welcome


async def call(ws: aiohttp.ClientWebSocketResponse, op: str, args: Any, rid: str = "r1") -> Any:
    await ws.send_str(json.dumps({"id": rid, "op": op, "args": args}))
    return await next_json(ws)


async def expect_close(ws: aiohttp.ClientWebSocketResponse, code: int, timeout: float = 3) -> None:
    msg = await ws.receive(timeout=timeout)
    assert msg.type is aiohttp.WSMsgType.CLOSE, msg
    assert msg.data == code


def limit(symbol: str = "BTC-USDT", **kw: Any) -> dict[str, Any]:
    return {"symbol": symbol, "side": "buy", "type": "limit", "price": "100", "size": "2", **kw}


def fut(**kw: Any) -> dict[str, Any]:
    return {"symbol": "XBTUSDTM", "side": "buy", "price": "100", "size": 3, "leverage": 5, **kw}


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


# --- login -----------------------------------------------------------------------------------


def test_credential_repr_hides_secrets() -> None:
    text = repr(KucoinCredential("k1", "s3cr3t", "pa55"))
    assert "k1" in text and "s3cr3t" not in text and "pa55" not in text


async def test_welcome_follows_the_signed_challenge(http: aiohttp.ClientSession) -> None:
    async with KucoinSimulator(ping_interval_ms=7000, ping_timeout_ms=3000) as sim:
        ws = await http.ws_connect(login_url(sim))
        raw = await ws.receive_str(timeout=3)
        challenge = json.loads(raw)
        assert set(challenge) == {"sessionId", "timestamp"} and " " not in raw
        assert abs(challenge["timestamp"] - time.time() * 1000) < 5000
        await ws.send_str(sign(SECRET, raw))
        welcome = await next_json(ws)
        assert welcome == {
            "sessionId": challenge["sessionId"],
            "data": "welcome",
            "pingInterval": 7000,
            "pingTimeout": 3000,
        }
        assert sim.stats["logins_ok"] == 1
        await ws.close()


@pytest.mark.parametrize(
    ("url_kw", "code", "msg"),
    [
        ({"drop": ("sign",)}, "400001", None),
        ({"key": "nobody"}, "400003", "KC-API-KEY not exists."),
        ({"ts": int(time.time() * 1000) - 60_000}, "400002", "Invalid KC-API-TIMESTAMP"),
        ({"secret": "wrong"}, "400005", "Invalid KC-API-SIGN"),
        ({"passphrase": "wrong"}, "400004", "Invalid KC-API-PASSPHRASE"),
        ({"partner": "nobody", "partner_sign": "x"}, "400200", None),
        ({"partner": "acme", "partner_sign": "bad"}, "400201", None),
    ],
)
async def test_url_auth_failures(
    http: aiohttp.ClientSession, url_kw: dict[str, Any], code: str, msg: str | None
) -> None:
    async with KucoinSimulator(partners={"acme": "acme-secret"}) as sim:
        ws = await http.ws_connect(login_url(sim, **url_kw))
        frame = await next_json(ws)
        assert set(frame) == {"code", "msg", "inTime", "outTime"}
        assert frame["code"] == code
        if msg is not None:
            assert frame["msg"] == msg
        await expect_close(ws, 1008)
        assert sim.stats["logins_failed"] == 1 and sim.stats["logins_ok"] == 0


async def test_partner_and_any_query_order_and_encoding(
    sim: KucoinSimulator, http: aiohttp.ClientSession
) -> None:
    sim.partners["acme"] = "acme-secret"
    ts = str(int(time.time() * 1000))
    params = {
        "timestamp": ts,
        "partner_sign": sign("acme-secret", ts + "acme" + KEY),
        "partner": "acme",
        "passphrase": sign(SECRET, PASS),
        "sign": sign(SECRET, KEY + ts),
        "apikey": KEY,
    }
    # urllib's quote() style: "/" left raw, "+" and "=" escaped; keys in no particular order.
    query = "&".join(f"{k}={quote(v)}" for k, v in params.items())
    ws = await http.ws_connect(f"{sim.private_url}?{query}")
    challenge = await ws.receive_str(timeout=3)
    await ws.send_str(sign(SECRET, challenge))
    assert (await next_json(ws))["data"] == "welcome"
    await ws.close()


async def test_timestamp_is_checked_against_the_simulated_clock(
    http: aiohttp.ClientSession,
) -> None:
    async with KucoinSimulator(clock_offset_ms=60_000, timestamp_window_ms=2000) as sim:
        ws = await http.ws_connect(login_url(sim))
        assert (await next_json(ws))["code"] == "400002"
        await ws.close()
        ws, _ = await login(http, sim, ts=int(time.time() * 1000) + 60_000)
        await ws.close()


async def test_bad_challenge_signature(sim: KucoinSimulator, http: aiohttp.ClientSession) -> None:
    ws = await http.ws_connect(login_url(sim))
    await ws.receive_str(timeout=3)
    await ws.send_str(sign(SECRET, "something else"))
    frame = await next_json(ws)
    assert frame["code"] == "400011" and frame["msg"] == "Session verification failed"
    await expect_close(ws, 1008)
    assert sim.stats["logins_failed"] == 1


async def test_request_before_verification_fails_it(
    sim: KucoinSimulator, http: aiohttp.ClientSession
) -> None:
    ws = await http.ws_connect(login_url(sim))
    await ws.receive_str(timeout=3)
    await ws.send_str(json.dumps({"id": "1", "op": "spot.order", "args": limit()}))
    assert (await next_json(ws))["code"] == "400011"
    await expect_close(ws, 1008)
    assert sim.received == []


async def test_pretty_challenge_catches_reserialising_clients(
    http: aiohttp.ClientSession,
) -> None:
    async with KucoinSimulator(pretty_challenge=True) as sim:
        ws = await http.ws_connect(login_url(sim))
        raw = await ws.receive_str(timeout=3)
        assert raw.startswith('{"sessionId": "') and ', "timestamp": ' in raw
        await ws.send_str(sign(SECRET, raw))  # signs the exact text: passes
        assert (await next_json(ws))["data"] == "welcome"
        await ws.close()

        ws = await http.ws_connect(login_url(sim))
        raw = await ws.receive_str(timeout=3)
        compact = json.dumps(json.loads(raw), separators=(",", ":"))
        await ws.send_str(sign(SECRET, compact))  # re-serialised: fails
        assert (await next_json(ws))["code"] == "400011"
        await expect_close(ws, 1008)


async def test_challenge_timeout(http: aiohttp.ClientSession) -> None:
    async with KucoinSimulator(challenge_timeout=0.2) as sim:
        ws = await http.ws_connect(login_url(sim))
        await ws.receive_str(timeout=3)
        frame = await next_json(ws)
        assert frame["code"] == "400012"
        assert frame["msg"] == "Session verification has timed out"
        await expect_close(ws, 1008)


@pytest.mark.parametrize("code", [None, "400003"])
async def test_forced_login_rejection(http: aiohttp.ClientSession, code: str | None) -> None:
    async with KucoinSimulator() as sim:
        sim.faults.reject_next_login(code)
        ws = await http.ws_connect(login_url(sim))
        assert (await next_json(ws))["code"] == (code or "400005")
        await expect_close(ws, 1008)
        ws, _ = await login(http, sim)  # only the next login is refused
        await ws.close()
        assert sim.faults.injected["reject_login"] == 1


async def test_plain_http_get_is_refused(sim: KucoinSimulator, http: aiohttp.ClientSession) -> None:
    async with http.get(sim.url + "/v1/private") as resp:
        assert resp.status == 400


# --- envelope ----------------------------------------------------------------------------------


@pytest.mark.parametrize("stamp", [1742175983882, "1742175983882"])
async def test_ping_pong(ws: aiohttp.ClientWebSocketResponse, stamp: Any) -> None:
    await ws.send_str(json.dumps({"id": "ping-7", "op": "ping", "timestamp": stamp}))
    pong = await next_json(ws)
    assert set(pong) == {"id", "op", "timestamp"}
    assert pong["id"] == "ping-7" and pong["op"] == "pong"
    assert isinstance(pong["timestamp"], int) and abs(pong["timestamp"] - time.time() * 1000) < 5000


async def test_idle_socket_is_closed_unless_it_pings(http: aiohttp.ClientSession) -> None:
    async with KucoinSimulator(idle_timeout=0.4) as sim:
        busy, _ = await login(http, sim)
        idle, _ = await login(http, sim)
        for i in range(5):
            await busy.send_str(json.dumps({"id": f"p{i}", "op": "ping", "timestamp": 1}))
            assert (await next_json(busy))["op"] == "pong"
            await asyncio.sleep(0.15)
        await expect_close(idle, 1000)
        assert not busy.closed
        assert sim.stats["idle_closes"] == 1
        await busy.close()


async def test_invalid_json_and_non_object(ws: aiohttp.ClientWebSocketResponse) -> None:
    await ws.send_str("not json {")
    frame = await next_json(ws)
    assert frame["code"] == "400100" and "invalid json" in frame["msg"]
    assert "id" not in frame and {"inTime", "outTime"} <= set(frame)
    await ws.send_str("[1, 2]")
    assert (await next_json(ws))["code"] == "400100"


@pytest.mark.parametrize(
    "envelope",
    [{"op": "spot.order"}, {"id": "", "op": "spot.order"}, {"id": 5, "op": "ping"}],
)
async def test_missing_or_empty_id(
    ws: aiohttp.ClientWebSocketResponse, sim: KucoinSimulator, envelope: dict[str, Any]
) -> None:
    await ws.send_str(json.dumps(envelope))
    frame = await next_json(ws)
    assert set(frame) == {"code", "msg", "inTime", "outTime"}
    assert frame["code"] == "4001002"
    assert frame["msg"] == (
        "Please check the param of your request: Field 'id' must be a non-empty string."
    )
    assert sim.stats["requests"] == 0


async def test_unknown_op(ws: aiohttp.ClientWebSocketResponse, sim: KucoinSimulator) -> None:
    reply = await call(ws, "spot.teleport", {}, rid="x9")
    assert reply["id"] == "x9" and reply["op"] == "spot.teleport"
    assert reply["code"] == "400100" and reply["msg"] == "Invalid op: spot.teleport"
    assert "data" not in reply and sim.received == []


# --- spot ----------------------------------------------------------------------------------------


async def test_spot_order_envelope_book_and_log(
    ws: aiohttp.ClientWebSocketResponse, sim: KucoinSimulator
) -> None:
    reply = await call(ws, "spot.order", limit(clientOid="c-1"), rid="42")
    assert reply["id"] == "42" and reply["op"] == "spot.order" and reply["code"] == "200000"
    oid = reply["data"]["orderId"]
    assert reply["data"] == {"orderId": oid, "clientOid": "c-1"}
    assert len(oid) == 24 and int(oid, 16) >= 0
    assert reply["userRateLimit"]["limit"] == 4000 and reply["userRateLimit"]["remaining"] == 3999
    assert 0 < reply["userRateLimit"]["reset"] <= 30_000
    assert reply["inTime"] > 1_600_000_000_000 and reply["outTime"] >= reply["inTime"]
    assert "msg" not in reply
    order = sim.find_order(client_oid="c-1")
    assert order is not None and order["orderId"] == oid and order["status"] == "open"
    assert sim.received[-1]["args"]["clientOid"] == "c-1" and sim.received[-1]["_account"] == KEY

    market = await call(
        ws, "spot.order", {"symbol": "ETH-USDT", "side": "sell", "type": "market", "funds": "50"}
    )
    done = sim.find_order(order_id=market["data"]["orderId"])
    assert market["data"]["clientOid"] == "" and done is not None and done["status"] == "done"
    assert [o["orderId"] for o in sim.orders(market="spot", open_only=True)] == [oid]
    assert sim.stats["requests"] == 2


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ({"side": "buy", "type": "limit", "price": "1", "size": "1"}, "symbol is required"),
        (limit(symbol="DOGE-EUR"), "DOGE-EUR"),
        (limit(side="hold"), "side"),
        (limit(type="stop"), "type"),
        ({"symbol": "BTC-USDT", "side": "buy", "price": "1", "size": "1"}, "type is required"),
        (limit(price=None), "price is required"),
        (limit(price="abc"), "price"),
        (limit(size="0"), "size"),
        (limit(clientOid="bad oid!"), "clientOid"),
        (limit(clientOid="x" * 41), "clientOid"),
        (limit(timeInForce="IOC", postOnly=True), "postOnly"),
        (limit(stp="XX"), "stp"),
        (limit(hidden="yes"), "hidden"),
        (limit(remark="r" * 21), "remark"),
        (limit(price="1e5"), "price"),
        ({"symbol": "BTC-USDT", "side": "buy", "type": "market"}, "size or funds"),
        (
            {"symbol": "BTC-USDT", "side": "buy", "type": "market", "size": "1", "funds": "1"},
            "size or funds",
        ),
        ("not an object", "args"),
    ],
)
async def test_spot_order_argument_errors(
    ws: aiohttp.ClientWebSocketResponse, sim: KucoinSimulator, args: Any, needle: str
) -> None:
    reply = await call(ws, "spot.order", args)
    assert reply["code"] == "400100" and needle in reply["msg"], reply
    assert "data" not in reply and "userRateLimit" in reply
    assert sim.orders() == []


async def test_duplicate_client_oid_among_open_orders(ws: aiohttp.ClientWebSocketResponse) -> None:
    first = await call(ws, "spot.order", limit(clientOid="dup"))
    again = await call(ws, "spot.order", limit(clientOid="dup"))
    assert again["code"] == "400100" and again["msg"] == MSG_DUPLICATE_CLIENT_OID
    # Other markets keep their own index; a closed order frees its clientOid.
    assert (await call(ws, "futures.order", fut(clientOid="dup")))["code"] == "200000"
    await call(ws, "spot.cancel", {"symbol": "BTC-USDT", "orderId": first["data"]["orderId"]})
    assert (await call(ws, "spot.order", limit(clientOid="dup")))["code"] == "200000"


async def test_allow_max_time_window(ws: aiohttp.ClientWebSocketResponse) -> None:
    now = int(time.time() * 1000)
    late = await call(ws, "spot.order", limit(allowMaxTimeWindow=1000, clientTimestamp=now - 5000))
    assert (late["code"], late["msg"]) == ORDER_EXPIRED
    fresh = await call(ws, "spot.order", limit(allowMaxTimeWindow=10_000, clientTimestamp=now))
    assert fresh["code"] == "200000"
    missing = await call(ws, "spot.order", limit(allowMaxTimeWindow=1000))
    assert missing["code"] == "400100" and "clientTimestamp" in missing["msg"]


async def test_spot_cancel(ws: aiohttp.ClientWebSocketResponse, sim: KucoinSimulator) -> None:
    a = (await call(ws, "spot.order", limit(clientOid="a")))["data"]["orderId"]
    await call(ws, "spot.order", limit(clientOid="b"))
    by_id = await call(ws, "spot.cancel", {"symbol": "BTC-USDT", "orderId": a})
    assert by_id["code"] == "200000" and by_id["data"] == {"orderId": a}
    by_coid = await call(ws, "spot.cancel", {"symbol": "BTC-USDT", "clientOid": "b"})
    assert by_coid["data"] == {"clientOid": "b"}
    assert sim.orders(open_only=True) == []
    assert sim.find_order(order_id=a)["canceledSize"] == "2"  # type: ignore[index]

    no_id = await call(ws, "spot.cancel", {"symbol": "BTC-USDT"}, rid="1")
    assert no_id == {**no_id, "id": "1", "op": "spot.cancel", "code": "400102", "msg": NEED_ID}
    again = await call(ws, "spot.cancel", {"symbol": "BTC-USDT", "orderId": a})
    assert again["code"] == "400100" and again["msg"] == MSG_ORDER_NOT_FOUND
    both = await call(ws, "spot.cancel", {"symbol": "BTC-USDT", "orderId": a, "clientOid": "b"})
    assert both["code"] == "400100"
    no_sym = await call(ws, "spot.cancel", {"orderId": a})
    assert no_sym["code"] == "400100" and "symbol" in no_sym["msg"]


async def test_spot_sync_order_and_sync_cancel(
    ws: aiohttp.ClientWebSocketResponse, sim: KucoinSimulator
) -> None:
    rest = await call(ws, "spot.sync_order", limit(size="5", clientOid="s1"))
    data = rest["data"]
    assert set(data) == {
        "orderId", "clientOid", "orderTime", "originSize", "dealSize",
        "remainSize", "canceledSize", "status", "matchTime",
    }  # fmt: skip
    assert (data["status"], data["originSize"], data["dealSize"], data["remainSize"]) == (
        "open", "5", "0", "5",
    )  # fmt: skip
    assert isinstance(data["orderTime"], int) and isinstance(data["matchTime"], int)
    ioc = (await call(ws, "spot.sync_order", limit(timeInForce="IOC")))["data"]
    assert (ioc["status"], ioc["dealSize"], ioc["remainSize"]) == ("done", "2", "0")

    sim.fill(data["orderId"], "1.5")
    cancel = await call(ws, "spot.sync_cancel", {"symbol": "BTC-USDT", "clientOid": "s1"})
    assert cancel["data"] == {
        "clientOid": "s1",
        "originSize": "5",
        "dealSize": "1.5",
        "remainSize": "0",
        "canceledSize": "3.5",
        "status": "done",
    }
    by_id = await call(ws, "spot.sync_cancel", {"symbol": "BTC-USDT", "orderId": data["orderId"]})
    assert by_id["msg"] == MSG_ORDER_NOT_FOUND


async def test_spot_modify(ws: aiohttp.ClientWebSocketResponse, sim: KucoinSimulator) -> None:
    old = (await call(ws, "spot.order", limit(size="4", clientOid="m1")))["data"]["orderId"]
    reply = await call(ws, "spot.modify", {"symbol": "BTC-USDT", "orderId": old, "newPrice": "101"})
    new = reply["data"]["newOrderId"]
    assert reply["code"] == "200000" and reply["data"]["clientOid"] == "m1" and new != old
    assert sim.find_order(order_id=old)["status"] == "done"  # type: ignore[index]
    placed = sim.find_order(client_oid="m1")
    assert placed is not None and (placed["orderId"], placed["price"], placed["size"]) == (
        new,
        "101",
        "4",
    )

    sim.fill(new, "3")
    shrink = await call(
        ws, "spot.modify", {"symbol": "BTC-USDT", "clientOid": "m1", "newSize": "2"}
    )
    assert shrink["data"] == {"newOrderId": None, "clientOid": "m1"}
    assert sim.orders(open_only=True) == []

    for args, code in [
        ({"symbol": "BTC-USDT", "orderId": new, "newPrice": "1"}, "400100"),
        ({"symbol": "BTC-USDT", "newPrice": "1"}, "400102"),
        ({"symbol": "BTC-USDT", "orderId": new}, "400100"),
    ]:
        assert (await call(ws, "spot.modify", args))["code"] == code


# --- margin and futures ----------------------------------------------------------------------------


async def test_margin_order_and_cancel(ws: aiohttp.ClientWebSocketResponse) -> None:
    reply = await call(
        ws,
        "margin.order",
        {"symbol": "ETH-USDT", "side": "sell", "price": "9", "size": "1", "clientOid": "mg"},
    )
    assert reply["code"] == "200000"
    # Without autoBorrow nothing is borrowed: KuCoin returns borrowSize and loanApplyId
    # only for auto-borrow orders.
    assert set(reply["data"]) == {"orderId", "clientOid"}
    assert reply["userRateLimit"]["remaining"] == 4000 - 2
    missing = await call(
        ws, "margin.order", {"symbol": "ETH-USDT", "side": "sell", "price": "9", "size": "1"}
    )
    assert missing["code"] == "400100" and "clientOid" in missing["msg"]
    # Spot and margin are separate books.
    wrong_book = await call(ws, "spot.cancel", {"symbol": "ETH-USDT", "clientOid": "mg"})
    assert wrong_book["msg"] == MSG_ORDER_NOT_FOUND
    ok = await call(ws, "margin.cancel", {"symbol": "ETH-USDT", "clientOid": "mg"})
    assert ok["data"] == {"clientOid": "mg"}
    assert (await call(ws, "margin.cancel", {"symbol": "ETH-USDT"}))["code"] == "400102"


@pytest.mark.parametrize(
    ("args", "borrowed"),
    [
        ({"side": "buy", "price": "9", "size": "1.5"}, "13.5"),
        ({"side": "sell", "price": "9", "size": "1.5"}, "1.5"),
        ({"side": "buy", "type": "market", "funds": "20"}, "20"),
        ({"side": "sell", "type": "market", "size": "2"}, "2"),
    ],
)
async def test_margin_auto_borrow_reports_the_loan(
    ws: aiohttp.ClientWebSocketResponse, args: dict[str, Any], borrowed: str
) -> None:
    order = {"symbol": "ETH-USDT", "clientOid": "ab", "autoBorrow": True, **args}
    data = (await call(ws, "margin.order", order))["data"]
    assert set(data) == {"orderId", "clientOid", "borrowSize", "loanApplyId"}
    assert data["borrowSize"] == borrowed
    assert re.fullmatch(r"[0-9a-f]{24}", data["loanApplyId"])
    assert data["loanApplyId"] != data["orderId"]


async def test_order_id_formats(ws: aiohttp.ClientWebSocketResponse) -> None:
    """Spot and margin ids are 24 hex digits; futures ids are numeric strings."""
    spot = (await call(ws, "spot.order", limit()))["data"]["orderId"]
    margin = (await call(ws, "margin.order", limit(clientOid="m")))["data"]["orderId"]
    assert re.fullmatch(r"[0-9a-f]{24}", spot) and re.fullmatch(r"[0-9a-f]{24}", margin)
    single = (await call(ws, "futures.order", fut(clientOid="f1")))["data"]["orderId"]
    batch = (await call(ws, "futures.multi_order", [fut(clientOid="f2"), fut(clientOid="f3")]))[
        "data"
    ]
    ids = [single] + [item["orderId"] for item in batch]
    assert all(isinstance(i, str) and re.fullmatch(r"[1-9][0-9]{15,19}", i) for i in ids), ids
    assert len(set(ids)) == 3
    cancel = await call(ws, "futures.cancel", {"orderId": single})
    assert cancel["data"] == {"cancelledOrderIds": [single]}


async def test_futures_order_and_cancel(
    ws: aiohttp.ClientWebSocketResponse, sim: KucoinSimulator
) -> None:
    reply = await call(ws, "futures.order", fut(clientOid="f1"))
    assert reply["code"] == "200000" and reply["data"]["clientOid"] == "f1"
    assert reply["userRateLimit"] == {**reply["userRateLimit"], "limit": 2000, "remaining": 1998}
    market = await call(
        ws,
        "futures.order",
        {"symbol": "ETHUSDTM", "side": "sell", "type": "market", "qty": "0.1", "clientOid": "f2"},
    )
    assert sim.find_order(order_id=market["data"]["orderId"])["status"] == "done"  # type: ignore[index]

    for args, needle in [
        (fut(clientOid="f3", qty="1"), "exactly one of size, qty or valueQty"),
        (fut(clientOid="f3", size=None), "exactly one of size, qty or valueQty"),
        (fut(clientOid="f3", price=None), "price is required"),
        (fut(clientOid="f3", size="1.5"), "size"),
        (fut(), "clientOid is required"),
        (fut(clientOid="f3", symbol="BTC-USDT"), "BTC-USDT"),
        (fut(clientOid="f3", marginMode="HALF"), "marginMode"),
        (fut(clientOid="f3", stop="down"), "stopPrice is required"),
    ]:
        bad = await call(ws, "futures.order", args)
        assert bad["code"] == "400100" and needle in bad["msg"], bad

    first = reply["data"]["orderId"]
    by_id = await call(ws, "futures.cancel", {"orderId": first})
    assert by_id["data"] == {"cancelledOrderIds": [first]}
    await call(ws, "futures.order", fut(clientOid="f4"))
    no_symbol = await call(ws, "futures.cancel", {"clientOid": "f4"})
    assert no_symbol["code"] == "400100" and "symbol" in no_symbol["msg"]
    by_coid = await call(ws, "futures.cancel", {"clientOid": "f4", "symbol": "XBTUSDTM"})
    assert by_coid["data"] == {"clientOid": "f4"}
    assert (await call(ws, "futures.cancel", {}))["code"] == "400102"
    assert (await call(ws, "futures.cancel", {"orderId": first}))["msg"] == MSG_ORDER_NOT_FOUND


async def test_futures_multi_order(ws: aiohttp.ClientWebSocketResponse) -> None:
    reply = await call(
        ws,
        "futures.multi_order",
        [fut(clientOid="b1"), fut(clientOid="b1"), fut(clientOid="b2", price=None)],
    )
    assert reply["code"] == "200000" and reply["userRateLimit"]["remaining"] == 2000 - 20
    ok, dup, bad = reply["data"]
    assert ok == {**ok, "clientOid": "b1", "symbol": "XBTUSDTM", "code": "200000", "msg": "success"}
    assert ok["orderId"].isdigit()  # futures ids are numeric strings
    assert dup == {
        "orderId": None,
        "clientOid": "b1",
        "symbol": "XBTUSDTM",
        "code": "400100",
        "msg": MSG_DUPLICATE_CLIENT_OID,
    }
    assert bad["orderId"] is None and bad["code"] == "400100" and "price" in bad["msg"]

    big = await call(ws, "futures.multi_order", [fut(clientOid=f"o{i}") for i in range(21)])
    assert big["code"] == "400100" and "20" in big["msg"] and "data" not in big
    assert (await call(ws, "futures.multi_order", fut(clientOid="x")))["code"] == "400100"


async def test_futures_multi_cancel(
    ws: aiohttp.ClientWebSocketResponse, sim: KucoinSimulator
) -> None:
    a = (await call(ws, "futures.order", fut(clientOid="a")))["data"]["orderId"]
    await call(ws, "futures.order", fut(clientOid="b", symbol="ETHUSDTM"))
    reply = await call(
        ws,
        "futures.multi_cancel",
        {
            "orderIdsList": [a, "ffffffffffffffffffffffff"],
            "clientOidsList": [
                {"symbol": "ETHUSDTM", "clientOid": "b"},
                {"symbol": "ETHUSDTM", "clientOid": "zz"},
            ],
        },
    )
    assert reply["code"] == "200000"
    assert reply["data"] == [
        {"orderId": a, "clientOid": None, "code": "200", "msg": "success"},
        {
            "orderId": "ffffffffffffffffffffffff",
            "clientOid": None,
            "code": "400100",
            "msg": MSG_ORDER_NOT_FOUND,
        },
        {"orderId": None, "clientOid": "b", "code": "200", "msg": "success"},
        {"orderId": None, "clientOid": "zz", "code": "400100", "msg": MSG_ORDER_NOT_FOUND},
    ]
    assert sim.orders(market="futures", open_only=True) == []
    assert (await call(ws, "futures.multi_cancel", {}))["code"] == "400102"


# --- rate limits and timestamps ---------------------------------------------------------------------


async def test_rate_limit_per_pool(http: aiohttp.ClientSession) -> None:
    async with KucoinSimulator(
        spot_pool_limit=3, futures_pool_limit=2, rate_limit_key="rateLimit"
    ) as sim:
        ws, _ = await login(http, sim)
        for i in range(3):
            assert (await call(ws, "spot.order", limit()))["rateLimit"]["remaining"] == 2 - i
        over = await call(ws, "spot.order", limit(clientOid="late"), rid="late")
        assert over["id"] == "late" and over["op"] == "spot.order"
        assert (over["code"], over["msg"]) == ("429000", "Too Many Requests")
        assert over["rateLimit"]["limit"] == 3 and over["rateLimit"]["remaining"] == 0
        assert over["rateLimit"]["reset"] > 0 and "data" not in over
        assert sim.find_order(client_oid="late") is None
        # Futures is its own pool; futures.order weighs 2.
        assert (await call(ws, "futures.order", fut(clientOid="f")))["code"] == "200000"
        assert (await call(ws, "futures.cancel", {"clientOid": "f", "symbol": "XBTUSDTM"}))[
            "code"
        ] == "429000"
        assert sim.stats["rate_limited"] == 2
        await ws.close()


async def test_rate_limits_off_still_report_a_full_pool(http: aiohttp.ClientSession) -> None:
    async with KucoinSimulator(rate_limits=False, spot_pool_limit=1, record=False) as sim:
        ws, _ = await login(http, sim)
        for _ in range(3):
            reply = await call(ws, "spot.order", limit())
            assert reply["code"] == "200000"
            assert reply["userRateLimit"] == {"limit": 1, "reset": 30_000, "remaining": 1}
        assert sim.received == [] and sim.stats["requests"] == 3
        await ws.close()


async def test_enable_ns(http: aiohttp.ClientSession) -> None:
    async with KucoinSimulator() as sim:
        ws, _ = await login(http, sim, enable_ns="true")
        reply = await call(ws, "spot.order", limit())
        assert reply["inTime"] > 10**18 and reply["outTime"] >= reply["inTime"]
        await ws.close()
        ws, _ = await login(http, sim)
        assert (await call(ws, "spot.order", limit()))["inTime"] < 10**14
        await ws.close()
    async with KucoinSimulator(enable_ns_default=True) as sim:
        ws, _ = await login(http, sim)
        assert (await call(ws, "spot.order", limit()))["inTime"] > 10**18
        await ws.close()


# --- faults ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("process", [False, True])
async def test_drop(
    ws: aiohttp.ClientWebSocketResponse, sim: KucoinSimulator, process: bool
) -> None:
    sim.faults.drop_next("spot.order", process=process)
    assert (await call(ws, "futures.order", fut(clientOid="kept")))["code"] == "200000"
    await ws.send_str(json.dumps({"id": "9", "op": "spot.order", "args": limit(clientOid="gone")}))
    msg = await ws.receive(timeout=3)
    # An abrupt cut: no reply and no close frame.
    assert msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR), msg
    assert (sim.find_order(client_oid="gone") is not None) is process
    assert sim.faults.injected["drop"] == 1


async def test_swallow(ws: aiohttp.ClientWebSocketResponse, sim: KucoinSimulator) -> None:
    sim.faults.swallow_next("spot.order")
    await ws.send_str(
        json.dumps({"id": "1", "op": "spot.order", "args": limit(clientOid="silent")})
    )
    await ws.send_str(json.dumps({"id": "2", "op": "spot.order", "args": limit(clientOid="heard")}))
    assert (await next_json(ws))["id"] == "2"
    assert sim.find_order(client_oid="silent") is not None  # processed, never answered
    with pytest.raises(asyncio.TimeoutError):
        await ws.receive(timeout=0.2)


async def test_delay_reorders_replies(
    ws: aiohttp.ClientWebSocketResponse, sim: KucoinSimulator
) -> None:
    sim.faults.delay_next(0.3, op="spot.order")
    await ws.send_str(json.dumps({"id": "slow", "op": "spot.order", "args": limit(clientOid="s")}))
    await ws.send_str(json.dumps({"id": "fast", "op": "spot.order", "args": limit(clientOid="f")}))
    first, second = await next_json(ws), await next_json(ws)
    assert (first["id"], second["id"]) == ("fast", "slow")
    assert second["code"] == "200000" and second["outTime"] - second["inTime"] >= 250
    # Processed on arrival: the slow order was placed before the fast one.
    orders = sim.orders()
    assert [o["clientOid"] for o in orders] == ["s", "f"]


async def test_notice_then_close_after_grace(http: aiohttp.ClientSession) -> None:
    async with KucoinSimulator(session_notice_grace=0.3) as sim:
        ws, _ = await login(http, sim)
        sim.send_notice()
        notice = await next_json(ws)
        assert notice == {
            "type": "notice",
            "op": "session.expiring",
            "msg": "Session will be closed for maintenance (simulated). Please reconnect.",
            "closeIn": 300,
        }
        assert (await call(ws, "spot.order", limit()))["code"] == "200000"  # still served
        await expect_close(ws, 1001)
        assert sim.stats["notices"] == 1


async def test_expire_sessions_closes_at_once(
    ws: aiohttp.ClientWebSocketResponse, sim: KucoinSimulator
) -> None:
    sim.expire_sessions()
    await expect_close(ws, 1001)


def test_blocking_use_and_helpers_from_another_thread() -> None:
    creds = [KucoinCredential("k1", "s1", "p1"), KucoinCredential("k2", "s2", "p2")]
    with KucoinSimulator(credentials=creds) as sim:

        async def trade() -> str:
            async with aiohttp.ClientSession() as http:
                ws, _ = await login(http, sim, key="k2", secret="s2", passphrase="p2")
                reply = await call(ws, "spot.order", limit(clientOid="t1"))
                await ws.close()
                return str(reply["data"]["orderId"])

        oid = asyncio.run(trade())
        assert [o["orderId"] for o in sim.orders(api_key="k2")] == [oid]
        assert sim.orders(api_key="k1") == []
        assert sim.find_order(order_id=oid, api_key="k2")["apiKey"] == "k2"  # type: ignore[index]
        filled = sim.fill(oid)
        assert (filled["status"], filled["dealSize"], filled["remainSize"]) == ("done", "2", "0")
        with pytest.raises(KeyError):
            sim.fill(oid)

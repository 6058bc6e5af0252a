"""Definite outcomes for KuCoin's Unified Trading Account ops: a lost ``uta.order`` /
``uta.amend`` / ``uta.cancel`` reply is settled by KuCoin's UTA order-details lookup
(``GET /api/ua/v1/unified/order/detail``, signed), through both facades, against the
simulator's REST endpoint and its faults.

Before, UTA ops were not looked up at all: every case here ended in
``ConnectionLostError`` / ``RequestTimeoutError(sent=True)`` with ``.lookup`` None.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest

from okxkc._engine.outcome import (
    AMEND,
    CANCEL,
    DONE,
    NEVER,
    NOT_YET,
    PLACE,
    Finding,
    Sending,
    Target,
)
from okxkc._signing import Clock
from okxkc.config import KucoinAccount
from okxkc.errors import ConnectionLostError, NotExecutedError, RequestTimeoutError
from okxkc.kucoin.lookup import KucoinLookups
from okxkc.kucoin.models import UtaAmendAck, UtaCancelAck, UtaOrderAck
from okxkc.testing.kucoin import KucoinSimulator

from .conftest import Facade, make_kucoin
from .test_sim_kucoin import call, login
from .test_sim_kucoin_rest import rest

DETAIL = "/api/ua/v1/unified/order/detail"

TIMEOUT = 0.6
SETTLE = 0.3
GRACE = 2.0
SLACK = 1.0  # thread hops on a busy machine
SPOT = dict(tradeType="SPOT", symbol="BTC-USDT", side="BUY", orderType="LIMIT", size="0.5")
FUT = dict(tradeType="FUTURES", symbol="XBTUSDTM", side="BUY", orderType="LIMIT", size="2")


class Uta:
    """A simulator and a client through one facade, with the ``resolved`` events."""

    def __init__(self, kind: str, **sim_kw: Any) -> None:
        self.sim = KucoinSimulator(**sim_kw)
        self.sim.start_in_thread()
        self.c: Facade = make_kucoin(
            kind,
            self.sim,
            request_timeout=TIMEOUT,
            settle_time=SETTLE,
            resolve_grace=GRACE,
            reconnect_timeout=0.02,
            reconnect_max=0.1,
        )
        self.resolved: list[dict[str, Any]] = []
        self.c.get_ws_client().on("resolved", self.resolved.append)

    def order(self, cid: str) -> dict[str, Any]:
        o = self.sim.find_order(client_oid=cid)
        assert o is not None
        return o

    def copies(self, cid: str) -> int:
        return sum(1 for o in self.sim.orders() if o.get("clientOid") == cid)

    def detail_lookups(self) -> int:
        return int(self.sim.stats["rest_requests"])

    async def close(self) -> None:
        await (self.c.close() if self.c.is_async else asyncio.to_thread(self.c.client.close))
        self.sim.stop_thread()


@pytest.fixture
async def uta(facade_kind: str) -> AsyncIterator[Uta]:
    u = Uta(facade_kind)
    yield u
    await u.close()


async def timed(aw: Any) -> tuple[float, Any]:
    t0 = time.monotonic()
    try:
        res = await aw
    except Exception as exc:
        return time.monotonic() - t0, exc
    return time.monotonic() - t0, res


# -- places ---------------------------------------------------------------------------------
@pytest.mark.parametrize("order", [SPOT, FUT], ids=["spot", "futures"])
async def test_uta_place_swallowed_reply_is_found(uta: Uta, order: dict[str, Any]) -> None:
    uta.sim.faults.swallow_next(op="uta.order")
    dt, res = await timed(uta.c.submit_uta_order(**order, price="100", clientOid="us1"))
    assert not isinstance(res, Exception), res
    assert res.resolved_by == "lookup" and res.code == "200000"
    assert isinstance(res.data, UtaOrderAck)
    assert res.data.clientOid == "us1" and res.data.orderId == uta.order("us1")["orderId"]
    assert res.data.tradeType == order["tradeType"]
    assert TIMEOUT <= dt <= TIMEOUT + SLACK
    assert uta.copies("us1") == 1 and uta.detail_lookups() >= 1
    uta.c.get_ws_client().flush()
    (ev,) = uta.resolved
    assert ev["outcome"] == "executed" and ev["request"]["op"] == "uta.order"


async def test_uta_place_without_client_id_is_found_under_the_generated_one(uta: Uta) -> None:
    uta.sim.faults.drop_after_execution(op="uta.order")
    res = await uta.c.submit_uta_order(**SPOT, price="100")
    assert res.resolved_by == "lookup" and res.data.clientOid
    assert uta.copies(res.data.clientOid) == 1


async def test_uta_place_dropped_before_execution_stays_unknown(uta: Uta) -> None:
    # uta.order carries no expiry on the wire: a not-found proves nothing.
    await uta.c.submit_uta_order(**SPOT, price="100", clientOid="warm")
    uta.sim.faults.drop_next(op="uta.order")
    dt, exc = await timed(uta.c.submit_uta_order(**SPOT, price="100", clientOid="ud1"))
    assert type(exc) is ConnectionLostError, exc
    assert exc.lookup is not None and exc.lookup.verdict == "unknown"
    assert exc.lookup.items[0].state == "absent" and exc.lookup.lookups >= 2
    assert exc.request is not None and exc.request.op == "uta.order"
    assert dt <= TIMEOUT + GRACE + SLACK
    assert uta.sim.find_order(client_oid="ud1") is None


# -- cancels ----------------------------------------------------------------------------------
async def test_uta_cancel_dropped_after_execution_is_found(uta: Uta) -> None:
    await uta.c.submit_uta_order(**FUT, price="100", clientOid="uc1")
    uta.sim.faults.drop_after_execution(op="uta.cancel")
    res = await uta.c.cancel_uta_order(tradeType="FUTURES", symbol="XBTUSDTM", clientOid="uc1")
    assert res.resolved_by == "lookup" and isinstance(res.data, UtaCancelAck)
    assert res.data.clientOid == "uc1" and res.data.orderId == uta.order("uc1")["orderId"]
    assert uta.order("uc1")["status"] == "done" and uta.order("uc1")["canceledSize"] == "2"


async def test_uta_cancel_dropped_before_execution_is_not_executed_after_settle(
    uta: Uta,
) -> None:
    placed = await uta.c.submit_uta_order(**SPOT, price="100", clientOid="uc2")
    uta.sim.faults.drop_next(op="uta.cancel")
    dt, exc = await timed(
        uta.c.cancel_uta_order(tradeType="SPOT", symbol="BTC-USDT", orderId=placed.data.orderId)
    )
    assert isinstance(exc, NotExecutedError), exc
    assert exc.sent is True and "safe to retry" in str(exc)
    assert exc.lookup.verdict == "not_executed"
    assert exc.lookup.items[0].state == "open" and "still open" in exc.lookup.items[0].detail
    assert dt >= SETTLE
    assert uta.order("uc2")["status"] == "open"
    res = await uta.c.cancel_uta_order(tradeType="SPOT", clientOid="uc2")  # the retry works
    assert res.resolved_by is None and uta.order("uc2")["status"] == "done"


async def test_uta_cancel_of_a_filled_order_is_not_executed_at_once(uta: Uta) -> None:
    await uta.c.submit_uta_order(**SPOT, price="100", clientOid="uc3")
    uta.sim.fill(uta.order("uc3")["orderId"])
    uta.sim.faults.drop_next(op="uta.cancel")
    dt, exc = await timed(uta.c.cancel_uta_order(tradeType="SPOT", clientOid="uc3"))
    assert isinstance(exc, NotExecutedError), exc
    assert exc.lookup.items[0].state == "done" and dt < SETTLE + SLACK


# -- amends ----------------------------------------------------------------------------------
@pytest.mark.parametrize("replaces", [False, True], ids=["in_place", "replaces"])
async def test_uta_amend_swallowed_is_found(facade_kind: str, replaces: bool) -> None:
    u = Uta(facade_kind, uta_amend_replaces=replaces)
    try:
        placed = await u.c.submit_uta_order(**SPOT, price="100", clientOid="ua1")
        u.sim.faults.swallow_next(op="uta.amend")
        res = await u.c.amend_uta_order(
            symbol="BTC-USDT", orderId=placed.data.orderId, newPrice="95"
        )
        assert res.resolved_by == "lookup" and isinstance(res.data, UtaAmendAck)
        now = u.order("ua1")
        assert now["status"] == "open" and float(now["price"]) == 95
        assert res.data.clientOid == "ua1" and res.data.orderId == now["orderId"]
        # a re-placed order has a new id, and the result says so
        assert res.data.newOrderId == (now["orderId"] if replaces else None)
    finally:
        await u.close()


async def test_uta_amend_dropped_before_execution_stays_unknown(uta: Uta) -> None:
    await uta.c.submit_uta_order(**FUT, price="100", clientOid="ua2")
    uta.sim.faults.drop_next(op="uta.amend")
    dt, exc = await timed(uta.c.amend_uta_order(symbol="XBTUSDTM", clientOid="ua2", newSize="3"))
    # no expiry on uta.amend: an unchanged order may still change
    assert type(exc) is ConnectionLostError, exc
    assert exc.lookup.verdict == "unknown" and exc.lookup.items[0].state == "open"
    assert exc.lookup.items[0].key["tradeType"] == "FUTURES"  # told by the symbol
    assert dt <= TIMEOUT + GRACE + SLACK
    assert uta.order("ua2")["size"] == "2"


# -- when the lookup cannot help -------------------------------------------------------------
async def test_uta_rest_down_keeps_the_original_error_with_the_lookup(uta: Uta) -> None:
    await uta.c.submit_uta_order(**SPOT, price="100", clientOid="ur0")
    uta.sim.rest_available = False
    uta.sim.faults.drop_after_execution(op="uta.order")
    dt, exc = await timed(uta.c.submit_uta_order(**SPOT, price="100", clientOid="ur1"))
    assert type(exc) is ConnectionLostError, exc
    assert exc.lookup is not None and exc.lookup.verdict == "unknown"
    assert exc.lookup.items[0].state == "lookup failed" and exc.lookup.lookups >= 2
    assert exc.request is not None and exc.request.op == "uta.order"
    assert dt <= TIMEOUT + GRACE + SLACK
    assert uta.copies("ur1") == 1  # it was executed; okxkc says it could not tell


async def test_uta_resolution_off_is_the_old_behaviour(facade_kind: str) -> None:
    sim = KucoinSimulator()
    sim.start_in_thread()
    c = make_kucoin(facade_kind, sim, request_timeout=TIMEOUT, resolve_unknown=False)
    try:
        sim.faults.swallow_next(op="uta.order")
        _, exc = await timed(c.submit_uta_order(**SPOT, price="100", clientOid="off1"))
        assert type(exc) is RequestTimeoutError and exc.sent and exc.lookup is None
        assert exc.request is not None and exc.request.args["clientOid"] == "off1"
        assert sim.stats["rest_requests"] == 0
    finally:
        await (c.close() if c.is_async else asyncio.to_thread(c.client.close))
        sim.stop_thread()


# -- the lookup rules, no exchange needed -----------------------------------------------------
def test_uta_lookup_url_signature_and_trade_type() -> None:
    rules = KucoinLookups("https://api.kucoin.com", "https://api-futures.kucoin.com", Clock())
    acct = KucoinAccount(api_key="k2", api_secret="s2", api_passphrase="p2")
    seen = []
    for op, item in (
        ("uta.order", dict(tradeType="FUTURES", symbol="XBTUSDTM", clientOid="c1")),
        ("uta.cancel", dict(tradeType="SPOT", orderId="o1")),
        ("uta.amend", dict(symbol="BTC-USDT", clientOid="c2", newPrice="1")),
        ("uta.amend", dict(symbol="XBTUSDTM", orderId="o2", newSize="1")),
    ):
        (t,) = rules.targets(op, item, Sending(0.0))
        url, h = rules.lookup_request(t, acct)
        parts = urlsplit(url)
        assert url.startswith("https://api.kucoin.com" + DETAIL + "?")
        assert h["KC-API-SIGN"] == rules_sign("s2", h["KC-API-TIMESTAMP"], parts)
        seen.append(dict(parse_qsl(parts.query)))
    assert seen == [
        {"tradeType": "FUTURES", "symbol": "XBTUSDTM", "clientOid": "c1"},
        {"tradeType": "SPOT", "orderId": "o1"},
        {"tradeType": "SPOT", "symbol": "BTC-USDT", "clientOid": "c2"},
        {"tradeType": "FUTURES", "symbol": "XBTUSDTM", "orderId": "o2"},
    ]


def rules_sign(secret: str, ts: str, parts: Any) -> str:
    msg = f"{ts}GET{parts.path}?{parts.query}"
    return base64.b64encode(
        hmac.new(secret.encode(), msg.encode(), hashlib.sha256).digest()
    ).decode()


def test_uta_answers_read_from_the_documented_sizes() -> None:
    rules = KucoinLookups("https://x", "https://y", Clock())

    def effect(action: str, order: dict[str, Any], **item: Any) -> tuple[str, str]:
        key = {"market": "uta", "tradeType": "SPOT", "clientOid": "c"}
        return rules.effect(Target(0, action, key, item), Finding("found", order))

    open_ = {"orderId": "1", "clientOid": "c", "size": "2", "filledSize": "0.5",
             "cancelSize": "0", "price": "100", "status": 2}  # fmt: skip
    filled = dict(open_, filledSize="2")
    canceled = dict(open_, cancelSize="1.5")
    assert effect(PLACE, open_) == (DONE, "open")
    assert effect(CANCEL, open_) == (NOT_YET, "open")
    assert effect(CANCEL, canceled) == (DONE, "canceled")
    assert effect(CANCEL, filled) == (NEVER, "done")
    assert effect(AMEND, open_, newPrice="100.0") == (DONE, "open")
    assert effect(AMEND, open_, newPrice="99") == (NOT_YET, "open")
    assert effect(AMEND, filled, newPrice="100") == (NOT_YET, "done")
    t = Target(0, PLACE, {"market": "uta", "tradeType": "SPOT", "clientOid": "c"}, {})
    assert rules.read(t, {"code": "400100", "msg": "order not exist."}).state == "absent"
    assert rules.read(t, {"code": "200000", "data": None}).state == "absent"
    assert rules.read(t, {"code": "400005", "msg": "Invalid KC-API-SIGN"}).terminal


# -- the simulator's endpoint, driven by a raw signed client ---------------------------------
async def test_simulator_serves_uta_order_details_from_the_book() -> None:
    async with aiohttp.ClientSession() as http, KucoinSimulator() as sim:
        ws, _ = await login(http, sim)
        placed = await call(ws, "uta.order", dict(SPOT, price="100", clientOid="raw1"))
        oid = placed["data"]["orderId"]
        by_coid = f"{DETAIL}?tradeType=SPOT&symbol=BTC-USDT&clientOid=raw1"
        status, body = await rest(http, sim, by_coid)
        assert status == 200 and body["code"] == "200000"
        d = body["data"]
        assert (d["orderId"], d["clientOid"], d["tradeType"]) == (oid, "raw1", "SPOT")
        assert (d["size"], d["filledSize"], d["cancelSize"], d["price"]) == ("0.5", "0", "0", "100")
        assert d["side"] == "BUY" and d["orderType"] == "LIMIT" and d["status"] == 2
        assert (await rest(http, sim, f"{DETAIL}?tradeType=SPOT&orderId={oid}"))[1]["data"] == d
        await call(ws, "uta.cancel", dict(tradeType="SPOT", orderId=oid), rid="r2")
        _, gone = await rest(http, sim, by_coid)
        assert gone["data"]["cancelSize"] == "0.5"  # canceled orders stay findable
        # another market, another symbol or no such order: KuCoin's not-found form
        for path in (
            f"{DETAIL}?tradeType=FUTURES&clientOid=raw1",
            f"{DETAIL}?tradeType=SPOT&symbol=ETH-USDT&clientOid=raw1",
            f"{DETAIL}?tradeType=SPOT&clientOid=nobody",
        ):
            assert (await rest(http, sim, path))[1] == {"code": "400100", "msg": "order not exist."}
        for path, field in (
            (f"{DETAIL}?clientOid=raw1", "tradeType"),
            (f"{DETAIL}?tradeType=OPTIONS&clientOid=raw1", "tradeType"),
            (f"{DETAIL}?tradeType=SPOT", "orderId"),
        ):
            _, refused = await rest(http, sim, path)
            assert refused["code"] == "400100" and field in refused["msg"]
        # the same signature checks as the classic look-ups
        status, bad = await rest(http, sim, by_coid, secret="wrong")
        assert status == 401 and bad["code"] == "400005"
        await ws.close()

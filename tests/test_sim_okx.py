"""The simulated OKX server, driven the way third-party clients drive OKX: aiohttp's
own WebSocket client, JSON by hand and signatures computed here (not by okxkc)."""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import hmac
import itertools
import json
import os
import socket
import ssl
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType

from okxkc.testing.okx import OkxCredential, OkxSimulator

KEY, SECRET, PASS = "okxkc-test-key", "okxkc-test-secret", "okxkc-test-pass"
OPTION = "BTC-USD-261225-100000-C"
SPREAD = "BTC-USDT_BTC-USDT-SWAP"

ORDER_ITEM_KEYS = {"ordId", "clOrdId", "tag", "ts", "sCode", "sMsg", "subCode"}
CANCEL_ITEM_KEYS = {"ordId", "clOrdId", "ts", "sCode", "sMsg", "subCode"}
AMEND_ITEM_KEYS = {"ordId", "clOrdId", "ts", "reqId", "sCode", "sMsg", "subCode"}


def sign(secret: str, ts: str) -> str:
    mac = hmac.new(secret.encode(), f"{ts}GET/users/self/verify".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def login_arg(
    key: str = KEY, secret: str = SECRET, passphrase: str = PASS, ts: Any = None
) -> dict[str, Any]:
    ts = str(int(time.time())) if ts is None else ts
    return {"apiKey": key, "passphrase": passphrase, "timestamp": ts, "sign": sign(secret, str(ts))}


class Client:
    """A raw OKX WS client: send JSON, read JSON, nothing else."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse[bool]) -> None:
        self.ws = ws
        self._ids = itertools.count(1)

    async def send(self, obj: Any) -> None:
        await self.ws.send_str(obj if isinstance(obj, str) else json.dumps(obj))

    async def recv(self, timeout: float = 2.0) -> dict[str, Any]:
        msg = await self.ws.receive(timeout=timeout)
        assert msg.type is WSMsgType.TEXT, msg
        reply: dict[str, Any] = json.loads(msg.data)
        return reply

    def next_id(self) -> str:
        return str(next(self._ids))

    async def send_op(self, op: str, args: Any, **extra: Any) -> str:
        rid: str = extra.pop("id", None) or self.next_id()
        await self.send({"id": rid, "op": op, "args": args, **extra})
        return rid

    async def req(self, op: str, args: Any, **extra: Any) -> dict[str, Any]:
        rid = await self.send_op(op, args, **extra)
        reply = await self.recv()
        assert reply["id"] == rid and reply["op"] == op, reply
        return reply

    async def login(self, *args: dict[str, Any], **extra: Any) -> dict[str, Any]:
        await self.send({"op": "login", "args": list(args) or [login_arg()], **extra})
        return await self.recv()

    async def expect_close(self, timeout: float = 3.0) -> Any:
        msg = await self.ws.receive(timeout=timeout)
        assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.ERROR), msg
        return msg


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
async def sim() -> AsyncIterator[OkxSimulator]:
    async with OkxSimulator() as s:
        yield s


async def connect(
    session: aiohttp.ClientSession, url: str, *, login: bool = True, **kw: Any
) -> Client:
    c = Client(await session.ws_connect(url, **kw))
    if login:
        reply = await c.login()
        assert reply["event"] == "login" and reply["code"] == "0", reply
    return c


def limit(sim: OkxSimulator, inst: str = "BTC-USDT", **kw: Any) -> dict[str, Any]:
    a = {
        "instIdCode": sim.inst_id_code(inst),
        "tdMode": "cash",
        "side": "buy",
        "ordType": "limit",
        "px": "100",
        "sz": "1",
    }
    a.update(kw)
    return {k: v for k, v in a.items() if v is not None}


def market(sim: OkxSimulator, inst: str = "BTC-USDT", **kw: Any) -> dict[str, Any]:
    return limit(sim, inst, **{"ordType": "market", "px": None, **kw})


# -- login -------------------------------------------------------------------------------
def test_credential_repr_hides_secrets() -> None:
    text = repr(OkxCredential("k", "topsecret", "mypass"))
    assert "topsecret" not in text and "mypass" not in text and "'k'" in text


async def test_login_signature_matches_the_documented_vector(
    session: aiohttp.ClientSession,
) -> None:
    secret, ts = "22582BD0CFF14C41EDBF1AB98506286D", "1538054050"
    assert sign(secret, ts) == "+LdIr8lkkvhr5hoA3g9TMC0+uQJ849ftAcocA/ouu4M="
    offset = int(ts) * 1000 - int(time.time() * 1000)
    async with OkxSimulator(
        credentials=[OkxCredential("doc-key", secret, "doc-pass")], clock_offset_ms=offset
    ) as sim:
        c = await connect(session, sim.private_url, login=False)
        reply = await c.login(
            {
                "apiKey": "doc-key",
                "passphrase": "doc-pass",
                "timestamp": ts,
                "sign": "+LdIr8lkkvhr5hoA3g9TMC0+uQJ849ftAcocA/ouu4M=",
            },
            id="7",
        )
        assert reply == {
            "id": "7",
            "event": "login",
            "code": "0",
            "msg": "",
            "connId": reply["connId"],
        }
        assert len(reply["connId"]) == 8 and int(reply["connId"], 16) >= 0
        assert sim.stats["logins_ok"] == 1
        async with session.get(f"{sim.url}/api/v5/public/time") as r:
            server_ts = int((await r.json())["data"][0]["ts"])
        assert abs(server_ts - int(ts) * 1000) < 5000


@pytest.mark.parametrize(
    ("change", "code", "msg"),
    [
        ({"ts": "soon"}, "60004", "Invalid timestamp"),
        ({"ts": "-5"}, "60004", "Invalid timestamp"),
        ({"ts": "expired"}, "60006", "Timestamp request expired"),
        ({"key": "nobody"}, "60005", "Invalid apiKey"),
        ({"key": "eea-key", "secret": "eea-secret"}, "60032", "API key doesn't exist"),
        (
            {"key": "demo-key", "secret": "demo-secret"},
            "50101",
            "APIKey does not match current environment",
        ),
        ({"passphrase": "wrong"}, "60024", "Wrong passphrase"),
        ({"secret": "not-the-secret"}, "60007", "Invalid sign"),
        ({"sign": ""}, "60027", "Parameter sign can not be empty"),
    ],
    ids=["ts-text", "ts-negative", "expired", "key", "region", "demo", "pass", "sign", "empty"],
)
async def test_login_failures(
    session: aiohttp.ClientSession, change: dict[str, str], code: str, msg: str
) -> None:
    change = dict(change)
    if change.get("ts") == "expired":
        change["ts"] = str(int(time.time()) - 600)
    sign_override = change.pop("sign", None)
    arg = login_arg(**change)  # built now: a stale timestamp would mask the intended error
    if sign_override is not None:
        arg["sign"] = sign_override
    creds = [
        OkxCredential(KEY, SECRET, PASS),
        OkxCredential("eea-key", "eea-secret", PASS, region="EEA"),
        OkxCredential("demo-key", "demo-secret", PASS, demo=True),
    ]
    async with OkxSimulator(credentials=creds) as sim:
        c = await connect(session, sim.private_url, login=False)
        reply = await c.login(arg)
        assert reply == {"event": "error", "code": code, "msg": msg, "connId": reply["connId"]}
        assert sim.stats["logins_failed"] == 1 and sim.stats["logins_ok"] == 0
        # still not logged in
        assert (await c.req("order", [limit(sim)]))["code"] == "60011"


async def test_login_accepts_numeric_and_decimal_timestamps_and_right_region(
    session: aiohttp.ClientSession,
) -> None:
    creds = [
        OkxCredential("eea-key", "eea-secret", PASS, region="EEA", demo=True),
    ]
    async with OkxSimulator(credentials=creds, region="EEA", demo=True) as sim:
        for ts in (int(time.time()), f"{time.time():.3f}", round(time.time(), 2)):
            c = await connect(session, sim.private_url, login=False)
            reply = await c.login(login_arg("eea-key", "eea-secret", ts=ts))
            assert reply["event"] == "login", (ts, reply)
        assert sim.stats["logins_ok"] == 3


async def test_login_within_window_of_a_skewed_clock(session: aiohttp.ClientSession) -> None:
    async with OkxSimulator(clock_offset_ms=-20_000, login_window_s=5) as sim:
        c = await connect(session, sim.private_url, login=False)
        assert (await c.login(login_arg()))["code"] == "60006"
        assert (await c.login(login_arg(ts=str(sim.now_ms() // 1000))))["code"] == "0"


async def test_multi_account_login_needs_all_and_uses_the_first(
    session: aiohttp.ClientSession,
) -> None:
    creds = [OkxCredential(KEY, SECRET, PASS), OkxCredential("k2", "s2", "p2")]
    async with OkxSimulator(credentials=creds) as sim:
        c = await connect(session, sim.private_url, login=False)
        bad = await c.login(login_arg("k2", "s2", "p2"), login_arg(passphrase="no"))
        assert bad["code"] == "60024"
        ok = await c.login(login_arg("k2", "s2", "p2"), login_arg())
        assert ok["code"] == "0"
        reply = await c.req("order", [limit(sim)])
        assert reply["code"] == "0"
        assert sim.received[-1]["_account"] == "k2"
        assert len(sim.orders("k2")) == 1 and sim.orders() == []


async def test_close_on_login_failure(session: aiohttp.ClientSession) -> None:
    async with OkxSimulator(close_on_login_failure=True) as sim:
        c = await connect(session, sim.private_url, login=False)
        assert (await c.login(login_arg(passphrase="x")))["code"] == "60024"
        msg = await c.expect_close()
        assert msg.type is WSMsgType.CLOSE and msg.data == 4001


async def test_relogin(session: aiohttp.ClientSession) -> None:
    async with OkxSimulator() as sim:
        c = await connect(session, sim.private_url)
        assert (await c.login())["code"] == "0"
    async with OkxSimulator(reject_relogin=True) as sim:
        c = await connect(session, sim.private_url)
        reply = await c.login()
        assert reply["event"] == "error" and reply["code"] == "60031"
        assert (await c.req("order", [limit(sim)]))["code"] == "0"  # first login still holds


async def test_forced_login_rejection(session: aiohttp.ClientSession, sim: OkxSimulator) -> None:
    sim.faults.reject_next_login()
    sim.faults.reject_next_login("63999")
    c = await connect(session, sim.private_url, login=False)
    first = await c.login()
    assert (first["event"], first["code"], first["msg"]) == ("error", "60009", "Login failed.")
    second = await c.login()
    assert second["code"] == "63999"
    assert (await c.login())["code"] == "0"
    assert sim.faults.injected["reject_login"] == 2


async def test_before_login(session: aiohttp.ClientSession) -> None:
    async with OkxSimulator() as sim:
        c = await connect(session, sim.private_url, login=False)
        reply = await c.req("order", [limit(sim)], id="abc")
        assert reply == {
            "id": "abc",
            "op": "order",
            "code": "60011",
            "msg": "Please log in",
            "data": [],
        }
    async with OkxSimulator(before_login_style="event") as sim:
        c = await connect(session, sim.private_url, login=False)
        await c.send_op("order", [limit(sim)])
        reply = await c.recv()
        assert reply == {
            "event": "error",
            "code": "60011",
            "msg": "Please log in",
            "connId": reply["connId"],
        }


# -- socket level ------------------------------------------------------------------------
async def test_ping_pong_query_string_and_compression(
    session: aiohttp.ClientSession, sim: OkxSimulator
) -> None:
    c = await connect(session, sim.private_url + "?brokerId=9999", compress=15)
    assert c.ws.compress  # permessage-deflate negotiated
    await c.ws.send_str("ping")
    msg = await c.ws.receive(timeout=2)
    assert (msg.type, msg.data) == (WSMsgType.TEXT, "pong")
    assert (await c.req("order", [limit(sim)]))["code"] == "0"


async def test_idle_close_4004_and_ping_keeps_alive(session: aiohttp.ClientSession) -> None:
    async with OkxSimulator(idle_timeout=0.3) as sim:
        quiet = await connect(session, sim.public_url, login=False)
        busy = await connect(session, sim.public_url, login=False)
        for _ in range(5):  # 0.5 s of traffic, longer than the idle timeout
            await busy.ws.send_str("ping")
            assert (await busy.ws.receive(timeout=2)).data == "pong"
            await asyncio.sleep(0.1)
        msg = await quiet.expect_close()
        assert (msg.type, msg.data, msg.extra) == (
            WSMsgType.CLOSE,
            4004,
            "No data received in 30s.",
        )
        assert not busy.ws.closed


@pytest.mark.parametrize(
    ("frame", "code", "msg"),
    [
        ("not json", "60012", "Invalid request: not json"),
        ("[1, 2]", "60012", "Invalid request: [1, 2]"),
        ('{"op": "order", "args": []}', "60012", None),
        ('{"id": "a-b", "op": "order", "args": []}', "60012", None),
        ('{"id": "' + "1" * 33 + '", "op": "order", "args": []}', "60012", None),
        ('{"id": 5, "op": "order", "args": []}', "60012", None),
        ('{"id": "1", "op": "fly", "args": []}', "60019", "Invalid op: fly"),
        ('{"id": "1", "args": []}', "60012", None),
    ],
    ids=["json", "array", "no-id", "id-dash", "id-long", "id-int", "op", "no-op"],
)
async def test_envelope_errors(
    session: aiohttp.ClientSession, sim: OkxSimulator, frame: str, code: str, msg: str | None
) -> None:
    c = await connect(session, sim.private_url)
    await c.send(frame)
    reply = await c.recv()
    assert reply["event"] == "error" and reply["code"] == code and len(reply["connId"]) == 8
    assert reply["msg"] == (msg or f"Invalid request: {frame}")
    assert sim.stats["requests"] == 0
    await c.ws.send_str("ping")  # the socket survives
    assert (await c.ws.receive(timeout=2)).data == "pong"


async def test_wrong_url_60028(session: aiohttp.ClientSession, sim: OkxSimulator) -> None:
    business = await connect(session, sim.business_url)
    private = await connect(session, sim.private_url)
    public = await connect(session, sim.public_url)
    for c, op, args in [
        (business, "order", [limit(sim)]),
        (business, "mass-cancel", [{"instType": "OPTION", "instFamily": "BTC-USD"}]),
        (private, "sprd-order", [{"sprdId": SPREAD}]),
        (public, "cancel-order", [{"ordId": "1"}]),
    ]:
        reply = await c.req(op, args, id="9")
        assert reply == {
            "id": "9",
            "op": op,
            "code": "60028",
            "msg": "The operation is not supported by this URL",
            "data": [],
        }


@pytest.mark.parametrize(
    ("op", "args"),
    [
        ("order", {"instId": "BTC-USDT"}),
        ("order", []),
        ("order", ["x"]),
        ("order", [{}, {}]),
        ("cancel-order", [{}, {}]),
        ("mass-cancel", [{}, {}]),
        ("sprd-order", [{}, {}]),
        ("batch-orders", [{}] * 21),
        ("batch-cancel-orders", [{}] * 21),
        ("batch-amend-orders", [{}] * 21),
    ],
)
async def test_invalid_args_60013(
    session: aiohttp.ClientSession, sim: OkxSimulator, op: str, args: Any
) -> None:
    c = await connect(session, sim.business_url if op.startswith("sprd") else sim.private_url)
    reply = await c.req(op, args)
    assert (reply["code"], reply["msg"], reply["data"]) == ("60013", "Invalid args", [])


async def test_subscribe_is_acknowledged(session: aiohttp.ClientSession, sim: OkxSimulator) -> None:
    c = await connect(session, sim.private_url, login=False)
    await c.send({"op": "subscribe", "args": [{"channel": "orders", "instType": "ANY"}]})
    assert (await c.recv())["code"] == "60011"
    await c.login()
    await c.send(
        {"id": "s1", "op": "subscribe", "args": [{"channel": "orders", "instType": "ANY"}]}
    )
    ack = await c.recv()
    assert ack["id"] == "s1" and ack["event"] == "subscribe" and ack["arg"]["channel"] == "orders"


# -- order ---------------------------------------------------------------------------------
async def test_order_reply_shape_and_fill_model(
    session: aiohttp.ClientSession, sim: OkxSimulator
) -> None:
    c = await connect(session, sim.private_url)
    before = sim.now_ms()
    reply = await c.req("order", [limit(sim, clOrdId="c1", tag="mytag")], id="42")
    assert set(reply) == {"id", "op", "code", "msg", "data", "inTime", "outTime"}
    assert (reply["code"], reply["msg"]) == ("0", "")
    assert len(reply["inTime"]) == 16 and int(reply["inTime"]) <= int(reply["outTime"])
    item = reply["data"][0]
    assert set(item) == ORDER_ITEM_KEYS
    assert (item["clOrdId"], item["tag"], item["sCode"], item["subCode"]) == (
        "c1",
        "mytag",
        "0",
        "",
    )
    assert item["ordId"].isdigit() and int(item["ts"]) >= before
    mkt = (await c.req("order", [market(sim, "ETH-USDT")]))["data"][0]
    assert int(mkt["ordId"]) > int(item["ordId"])

    orders = sim.orders()
    assert [(o["instId"], o["ordType"], o["state"], o["fillSz"]) for o in orders] == [
        ("BTC-USDT", "limit", "live", "0"),
        ("ETH-USDT", "market", "filled", "1"),
    ]
    assert orders[0]["instIdCode"] == sim.inst_id_code("BTC-USDT")
    assert orders[0]["cTime"] == item["ts"]
    assert sim.find_order(cl_ord_id="c1") == orders[0]
    assert sim.find_order(ord_id=mkt["ordId"]) == orders[1]
    assert sim.find_order(ord_id="1") is None
    # immediately-filled orders cannot be cancelled
    gone = await c.req("cancel-order", [{"instId": "ETH-USDT", "ordId": mkt["ordId"]}])
    assert (gone["code"], gone["data"][0]["sCode"]) == ("1", "51400")
    # the request log
    assert sim.stats["requests"] == 3
    assert sim.received[0]["id"] == "42" and sim.received[0]["_account"] == KEY
    assert sim.received[0]["_path"] == "/ws/v5/private"


@pytest.mark.parametrize("ord_type", ["market", "optimal_limit_ioc", "ioc", "fok"])
async def test_immediate_order_types_fill(
    session: aiohttp.ClientSession, sim: OkxSimulator, ord_type: str
) -> None:
    c = await connect(session, sim.private_url)
    a = (
        limit(sim, ordType=ord_type)
        if ord_type in ("ioc", "fok")
        else market(sim, ordType=ord_type)
    )
    assert (await c.req("order", [a]))["code"] == "0"
    assert sim.orders()[0]["state"] == "filled"


@pytest.mark.parametrize(
    ("change", "code", "msg"),
    [
        ({"instIdCode": None}, "50014", "Parameter instIdCode can not be empty"),
        (
            {"instIdCode": 1},
            "51001",
            "Instrument ID, Instrument ID code or Spread ID doesn't exist.",
        ),
        ({"instIdCode": "x1"}, "51000", "Parameter instIdCode error"),
        (
            {"instIdCode": None, "instId": "DOGE-USDT"},
            "51001",
            "Instrument ID, Instrument ID code or Spread ID doesn't exist.",
        ),
        ({"tdMode": None}, "50014", "Parameter tdMode can not be empty"),
        ({"tdMode": "all"}, "51000", "Parameter tdMode error"),
        ({"side": None}, "50014", "Parameter side can not be empty"),
        ({"side": "up"}, "51000", "Parameter side error"),
        ({"ordType": "stop"}, "51000", "Parameter ordType error"),
        ({"sz": None}, "50014", "Parameter sz can not be empty"),
        ({"sz": "-1"}, "51000", "Parameter sz error"),
        ({"sz": "0.000"}, "51000", "Parameter sz error"),
        ({"sz": 1}, "51000", "Parameter sz error"),
        ({"px": None}, "50014", "Parameter px can not be empty"),
        ({"px": "1e5"}, "51000", "Parameter px error"),
        ({"ordType": "post_only", "px": None}, "50014", "Parameter px can not be empty"),
        ({"posSide": "up"}, "51000", "Parameter posSide error"),
        ({"clOrdId": "my-order"}, "51000", "Parameter clOrdId error"),
        ({"clOrdId": "a" * 33}, "51000", "Parameter clOrdId error"),
        ({"tag": "t" * 17}, "51000", "Parameter tag error"),
    ],
)
async def test_order_item_failures(
    session: aiohttp.ClientSession,
    sim: OkxSimulator,
    change: dict[str, Any],
    code: str,
    msg: str,
) -> None:
    c = await connect(session, sim.private_url)
    a = limit(sim)
    a.update(change)
    reply = await c.req("order", [{k: v for k, v in a.items() if v is not None}])
    assert reply["code"] == "1" and reply["msg"] == ""
    item = reply["data"][0]
    assert set(item) == ORDER_ITEM_KEYS
    assert (item["ordId"], item["sCode"], item["sMsg"]) == ("", code, msg)
    assert sim.orders() == []


async def test_inst_id_and_inst_id_code(session: aiohttp.ClientSession, sim: OkxSimulator) -> None:
    c = await connect(session, sim.private_url)
    by_id = limit(sim, instIdCode=None, instId="BTC-USDT-SWAP", tdMode="cross")
    assert (await c.req("order", [by_id]))["code"] == "0"
    both = limit(sim, "ETH-USDT", instId="BTC-USDT")  # instIdCode wins
    assert (await c.req("order", [both]))["code"] == "0"
    assert [o["instId"] for o in sim.orders()] == ["BTC-USDT-SWAP", "ETH-USDT"]
    as_text = limit(sim, instIdCode=str(sim.inst_id_code("BTC-USDT")))
    assert (await c.req("order", [as_text]))["code"] == "0"


async def test_require_inst_id_code(session: aiohttp.ClientSession) -> None:
    async with OkxSimulator(require_inst_id_code=True) as sim:
        c = await connect(session, sim.private_url)
        for op, a in [
            ("order", limit(sim, instIdCode=None, instId="BTC-USDT")),
            ("cancel-order", {"instId": "BTC-USDT", "ordId": "1"}),
            ("amend-order", {"instId": "BTC-USDT", "ordId": "1", "newSz": "2"}),
        ]:
            item = (await c.req(op, [a]))["data"][0]
            assert (item["sCode"], item["sMsg"]) == (
                "50014",
                "Parameter instIdCode can not be empty",
            )
        assert (await c.req("order", [limit(sim)]))["code"] == "0"


async def test_client_order_id_uniqueness(
    session: aiohttp.ClientSession, sim: OkxSimulator
) -> None:
    c = await connect(session, sim.private_url)
    assert (await c.req("order", [limit(sim, clOrdId="dup1")]))["code"] == "0"
    again = await c.req("order", [limit(sim, clOrdId="dup1")])
    assert again["data"][0]["sCode"] == "51016"
    assert again["data"][0]["sMsg"] == "Client order ID already exists."
    # other accounts have their own ids; a cancelled order frees its id
    await c.req("cancel-order", [{"instId": "BTC-USDT", "clOrdId": "dup1"}])
    assert (await c.req("order", [limit(sim, clOrdId="dup1")]))["code"] == "0"
    # filled orders are not pending, so their ids can be reused
    assert (await c.req("order", [market(sim, clOrdId="m1")]))["code"] == "0"
    assert (await c.req("order", [market(sim, clOrdId="m1")]))["code"] == "0"
    # twice within one batch: the second is refused
    batch = await c.req(
        "batch-orders", [market(sim, clOrdId="b1"), market(sim, clOrdId="b1"), limit(sim)]
    )
    assert batch["code"] == "2"
    assert [i["sCode"] for i in batch["data"]] == ["0", "51016", "0"]


async def test_batch_orders(session: aiohttp.ClientSession, sim: OkxSimulator) -> None:
    c = await connect(session, sim.private_url)
    mixed = await c.req(
        "batch-orders",
        [limit(sim, clOrdId="a1"), limit(sim, side="up", clOrdId="a2"), market(sim, "ETH-USDT")],
    )
    assert mixed["code"] == "2" and "inTime" in mixed
    assert [(i["clOrdId"], i["sCode"]) for i in mixed["data"]] == [
        ("a1", "0"),
        ("a2", "51000"),
        ("", "0"),
    ]
    assert all(set(i) == ORDER_ITEM_KEYS for i in mixed["data"])
    failed = await c.req("batch-orders", [limit(sim, sz="0"), limit(sim, instIdCode=7)])
    assert failed["code"] == "1"
    full = await c.req("batch-orders", [limit(sim) for _ in range(20)])
    assert full["code"] == "0" and len(full["data"]) == 20
    assert len(sim.orders()) == 22


# -- cancel --------------------------------------------------------------------------------
async def test_cancel(session: aiohttp.ClientSession, sim: OkxSimulator) -> None:
    c = await connect(session, sim.private_url)
    placed = (await c.req("order", [limit(sim, clOrdId="x1")]))["data"][0]
    code = sim.inst_id_code("BTC-USDT")
    reply = await c.req("cancel-order", [{"instIdCode": code, "ordId": placed["ordId"]}])
    assert reply["code"] == "0" and "inTime" in reply and "outTime" in reply
    item = reply["data"][0]
    assert set(item) == CANCEL_ITEM_KEYS
    assert (item["ordId"], item["clOrdId"], item["ts"]) == (
        "" + placed["ordId"],
        "x1",
        placed["ts"],
    )
    assert sim.find_order(ord_id=placed["ordId"])["state"] == "canceled"  # type: ignore[index]

    again = (await c.req("cancel-order", [{"instIdCode": code, "ordId": placed["ordId"]}]))["data"]
    assert (again[0]["sCode"], again[0]["sMsg"]) == (
        "51400",
        "Order cancellation failed as the order has been filled, canceled or does not exist.",
    )
    by_cl = (await c.req("order", [limit(sim, clOrdId="x2")]))["data"][0]
    wrong_inst = {"instId": "ETH-USDT", "clOrdId": "x2"}
    assert (await c.req("cancel-order", [wrong_inst]))["data"][0]["sCode"] == "51400"
    ok = await c.req("cancel-order", [{"instId": "BTC-USDT", "clOrdId": "x2"}])
    assert ok["data"][0]["ordId"] == by_cl["ordId"]
    neither = (await c.req("cancel-order", [{"instIdCode": code}]))["data"][0]
    assert (neither["sCode"], neither["sMsg"]) == (
        "50014",
        "Parameter ordId or clOrdId can not be empty",
    )
    no_inst = (await c.req("cancel-order", [{"ordId": "5"}]))["data"][0]
    assert no_inst["sCode"] == "50014"


async def test_batch_cancel(session: aiohttp.ClientSession, sim: OkxSimulator) -> None:
    c = await connect(session, sim.private_url)
    placed = await c.req("batch-orders", [limit(sim), limit(sim)])
    ids = [i["ordId"] for i in placed["data"]]
    reply = await c.req(
        "batch-cancel-orders",
        [{"instId": "BTC-USDT", "ordId": i} for i in [*ids, "123"]],
    )
    assert reply["code"] == "2"
    assert [i["sCode"] for i in reply["data"]] == ["0", "0", "51400"]
    assert all(set(i) == CANCEL_ITEM_KEYS for i in reply["data"])
    assert {o["state"] for o in sim.orders()} == {"canceled"}


# -- amend ---------------------------------------------------------------------------------
async def test_amend(session: aiohttp.ClientSession, sim: OkxSimulator) -> None:
    c = await connect(session, sim.private_url)
    placed = (await c.req("order", [limit(sim, clOrdId="am1", sz="2")]))["data"][0]
    oid = placed["ordId"]
    reply = await c.req(
        "amend-order", [{"instId": "BTC-USDT", "ordId": oid, "newPx": "101.5", "reqId": "r1"}]
    )
    assert reply["code"] == "0" and "inTime" in reply
    item = reply["data"][0]
    assert set(item) == AMEND_ITEM_KEYS
    assert (item["ordId"], item["clOrdId"], item["reqId"], item["ts"]) == (
        oid,
        "am1",
        "r1",
        placed["ts"],
    )
    assert sim.find_order(ord_id=oid)["px"] == "101.5"  # type: ignore[index]

    partly = sim.fill(oid, "0.5")
    assert (partly["state"], partly["fillSz"]) == ("partially_filled", "0.5")
    grown = await c.req("amend-order", [{"instId": "BTC-USDT", "clOrdId": "am1", "newSz": "3"}])
    assert grown["code"] == "0"
    assert sim.find_order(ord_id=oid)["sz"] == "3"  # type: ignore[index]
    shrunk = await c.req("amend-order", [{"instId": "BTC-USDT", "ordId": oid, "newSz": "0.5"}])
    assert shrunk["code"] == "0"
    assert sim.find_order(ord_id=oid)["state"] == "filled"  # type: ignore[index]

    closed = (await c.req("amend-order", [{"instId": "BTC-USDT", "ordId": oid, "newSz": "4"}]))[
        "data"
    ][0]
    assert (closed["sCode"], closed["sMsg"]) == (
        "51503",
        "Order modification failed as the order has been filled, canceled or does not exist.",
    )
    empty = (await c.req("amend-order", [{"instId": "BTC-USDT", "ordId": oid}]))["data"][0]
    assert (empty["sCode"], empty["sMsg"]) == (
        "50014",
        "Parameter newSz or newPx can not be empty",
    )
    bad = (await c.req("amend-order", [{"instId": "BTC-USDT", "ordId": oid, "newSz": "x"}]))[
        "data"
    ][0]
    assert (bad["sCode"], bad["sMsg"]) == ("51000", "Parameter newSz error")
    neither = (await c.req("amend-order", [{"instId": "BTC-USDT", "newSz": "1"}]))["data"][0]
    assert neither["sCode"] == "50014"


async def test_batch_amend(session: aiohttp.ClientSession, sim: OkxSimulator) -> None:
    c = await connect(session, sim.private_url)
    placed = await c.req("batch-orders", [limit(sim), limit(sim, "ETH-USDT")])
    a, b = (i["ordId"] for i in placed["data"])
    reply = await c.req(
        "batch-amend-orders",
        [
            {"instId": "BTC-USDT", "ordId": a, "newPx": "99"},
            {"instId": "BTC-USDT", "ordId": b, "newPx": "99"},  # wrong instrument
            {"instId": "ETH-USDT", "ordId": b, "newSz": "5", "reqId": "q2"},
        ],
    )
    assert reply["code"] == "2"
    assert [(i["sCode"], i["reqId"]) for i in reply["data"]] == [
        ("0", ""),
        ("51503", ""),
        ("0", "q2"),
    ]
    assert [(o["px"], o["sz"]) for o in sim.orders()] == [("99", "1"), ("100", "5")]


# -- expTime -------------------------------------------------------------------------------
async def test_exp_time(session: aiohttp.ClientSession, sim: OkxSimulator) -> None:
    c = await connect(session, sim.private_url)
    past = str(sim.now_ms() - 1000)
    future = str(sim.now_ms() + 60_000)
    expired = await c.req("batch-orders", [limit(sim), limit(sim)], expTime=past)
    assert expired["code"] == "1"
    assert {(i["sCode"], i["sMsg"]) for i in expired["data"]} == {
        (
            "50036",
            "The expTime can't be earlier than the current system time. "
            "Please adjust the expTime and try again.",
        )
    }
    assert sim.orders() == []
    oid = (await c.req("order", [limit(sim)], expTime=future))["data"][0]["ordId"]
    amend = {"instId": "BTC-USDT", "ordId": oid, "newPx": "1"}
    assert (await c.req("amend-order", [amend], expTime=past))["data"][0]["sCode"] == "50036"
    assert (await c.req("batch-amend-orders", [amend], expTime=past))["code"] == "1"
    assert (await c.req("amend-order", [amend], expTime=future))["code"] == "0"
    # cancel ignores expTime
    cancel = {"instId": "BTC-USDT", "ordId": oid}
    assert (await c.req("cancel-order", [cancel], expTime=past))["code"] == "0"


# -- mass-cancel ---------------------------------------------------------------------------
async def test_mass_cancel_and_lock(session: aiohttp.ClientSession, sim: OkxSimulator) -> None:
    c = await connect(session, sim.private_url)
    opt = limit(sim, OPTION, tdMode="cross")
    await c.req("batch-orders", [opt, opt, limit(sim)])
    args = [{"instType": "OPTION", "instFamily": "BTC-USD", "lockInterval": "5000"}]
    reply = await c.req("mass-cancel", args)
    assert reply == {
        "id": reply["id"],
        "op": "mass-cancel",
        "code": "0",
        "msg": "",
        "data": [{"result": True}],
    }
    assert [o["state"] for o in sim.orders()] == ["canceled", "canceled", "live"]
    locked = (await c.req("order", [opt]))["data"][0]
    assert (locked["sCode"], locked["sMsg"]) == (
        "54008",
        "Order placement failed during mass cancel lock",
    )
    assert (await c.req("order", [limit(sim)]))["code"] == "0"  # other families unaffected


@pytest.mark.parametrize(
    ("arg", "code", "msg"),
    [
        ({"instFamily": "BTC-USD"}, "50014", "Parameter instType can not be empty"),
        ({"instType": "SPOT", "instFamily": "BTC-USD"}, "51000", "Parameter instType error"),
        ({"instType": "OPTION"}, "50014", "Parameter instFamily can not be empty"),
        (
            {"instType": "OPTION", "instFamily": "BTC-USD", "lockInterval": "10001"},
            "51000",
            "Parameter lockInterval error",
        ),
    ],
)
async def test_mass_cancel_failures(
    session: aiohttp.ClientSession, sim: OkxSimulator, arg: dict[str, Any], code: str, msg: str
) -> None:
    c = await connect(session, sim.private_url)
    reply = await c.req("mass-cancel", [arg])
    assert (reply["code"], reply["msg"], reply["data"]) == (code, msg, [])


# -- spread ops ----------------------------------------------------------------------------
async def test_spread_ops(session: aiohttp.ClientSession, sim: OkxSimulator) -> None:
    c = await connect(session, sim.business_url)
    base = {"sprdId": SPREAD, "side": "buy", "ordType": "limit", "sz": "1", "px": "-12.5"}
    placed = await c.req("sprd-order", [{**base, "clOrdId": "s1", "tag": "t"}])
    assert set(placed) == {"id", "op", "code", "msg", "data"}  # no inTime/outTime
    item = placed["data"][0]
    assert set(item) == {"ordId", "clOrdId", "tag", "sCode", "sMsg"}
    assert (item["clOrdId"], item["sCode"]) == ("s1", "0")
    oid = item["ordId"]
    assert sim.find_order(cl_ord_id="s1")["sprdId"] == SPREAD  # type: ignore[index]

    dup = (await c.req("sprd-order", [{**base, "clOrdId": "s1"}]))["data"][0]
    assert dup["sCode"] == "51016"
    amend = await c.req("sprd-amend-order", [{"clOrdId": "s1", "newPx": "-11", "reqId": "r"}])
    assert amend["code"] == "0"
    assert amend["data"] == [
        {
            "ordId": oid,
            "clOrdId": "s1",
            "reqId": "r",
            "sCode": "0",
            "sMsg": amend["data"][0]["sMsg"],
        }
    ]
    cancel = await c.req("sprd-cancel-order", [{"ordId": oid}])
    assert set(cancel["data"][0]) == {"ordId", "clOrdId", "sCode", "sMsg"}
    assert cancel["data"][0]["sCode"] == "0"
    assert (await c.req("sprd-cancel-order", [{"ordId": oid}]))["data"][0]["sCode"] == "51400"
    assert (await c.req("sprd-amend-order", [{"ordId": oid, "newSz": "2"}]))["data"][0][
        "sCode"
    ] == "51503"

    mkt = await c.req("sprd-order", [{**base, "ordType": "market", "px": None}])
    assert mkt["code"] == "0"
    await c.req("sprd-order", [base])
    await c.req("sprd-order", [{**base, "sprdId": "ETH-USDT_ETH-USDT-SWAP"}])
    wipe = await c.req("sprd-mass-cancel", [{"sprdId": SPREAD}])
    assert wipe["data"] == [{"result": True}] and "inTime" not in wipe
    states = [(o["sprdId"], o["state"]) for o in sim.orders()]
    assert states == [
        (SPREAD, "canceled"),
        (SPREAD, "filled"),
        (SPREAD, "canceled"),
        ("ETH-USDT_ETH-USDT-SWAP", "live"),
    ]
    assert (await c.req("sprd-mass-cancel", [{}]))["code"] == "0"
    assert sim.orders()[-1]["state"] == "canceled"


@pytest.mark.parametrize(
    ("change", "code", "msg"),
    [
        ({"sprdId": None}, "50014", "Parameter sprdId can not be empty"),
        (
            {"sprdId": "BTC-USDT"},
            "51001",
            "Instrument ID, Instrument ID code or Spread ID doesn't exist.",
        ),
        ({"side": None}, "50014", "Parameter side can not be empty"),
        ({"ordType": "fok"}, "51000", "Parameter ordType error"),
        ({"sz": None}, "50014", "Parameter sz can not be empty"),
        ({"px": None}, "50014", "Parameter px can not be empty"),
        ({"px": "abc"}, "51000", "Parameter px error"),
    ],
)
async def test_spread_order_failures(
    session: aiohttp.ClientSession,
    sim: OkxSimulator,
    change: dict[str, Any],
    code: str,
    msg: str,
) -> None:
    c = await connect(session, sim.business_url)
    a = {"sprdId": SPREAD, "side": "sell", "ordType": "post_only", "sz": "1", "px": "3"}
    a.update(change)
    reply = await c.req("sprd-order", [{k: v for k, v in a.items() if v is not None}])
    assert reply["code"] == "1"
    assert (reply["data"][0]["sCode"], reply["data"][0]["sMsg"]) == (code, msg)


async def test_sprd_times_switch(session: aiohttp.ClientSession) -> None:
    async with OkxSimulator(sprd_times=True) as sim:
        c = await connect(session, sim.business_url)
        reply = await c.req("sprd-mass-cancel", [{}])
        assert int(reply["inTime"]) <= int(reply["outTime"])
        p = await connect(session, sim.private_url)
        mc = await p.req("mass-cancel", [{"instType": "OPTION", "instFamily": "BTC-USD"}])
        assert "outTime" in mc
        bad = await c.req("sprd-mass-cancel", [{"sprdId": "nope"}])
        assert (bad["code"], bad["data"]) == ("51001", [])


# -- rate limits ---------------------------------------------------------------------------
async def test_rate_limit_item_style(session: aiohttp.ClientSession, sim: OkxSimulator) -> None:
    c = await connect(session, sim.private_url)
    for _ in range(60):
        assert (await c.req("order", [market(sim)]))["code"] == "0"
    over = await c.req("order", [market(sim)])
    assert over["code"] == "1"
    assert (over["data"][0]["sCode"], over["data"][0]["sMsg"]) == (
        "50011",
        "Rate limit reached. Please refer to API documentation and throttle requests accordingly.",
    )
    # the limit is per instrument, and batch orders have their own budget
    assert (await c.req("order", [market(sim, "ETH-USDT")]))["code"] == "0"
    assert (await c.req("batch-orders", [market(sim), market(sim)]))["code"] == "0"
    for _ in range(5):
        await c.req("mass-cancel", [{"instType": "OPTION", "instFamily": "BTC-USD"}])
    mc = await c.req("mass-cancel", [{"instType": "OPTION", "instFamily": "BTC-USD"}])
    assert (mc["code"], mc["data"]) == ("50011", [])


async def test_rate_limit_batch_item_and_top_style(session: aiohttp.ClientSession) -> None:
    spread = {"sprdId": SPREAD, "side": "buy", "ordType": "market", "sz": "1"}
    async with OkxSimulator() as sim:
        c = await connect(session, sim.private_url)
        for _ in range(15):  # 300 orders: the whole budget
            assert (await c.req("batch-orders", [market(sim)] * 20))["code"] == "0"
        over = await c.req("batch-orders", [market(sim), market(sim, "ETH-USDT")])
        assert over["code"] == "2"
        assert [i["sCode"] for i in over["data"]] == ["50011", "0"]
    async with OkxSimulator(rate_limit_style="top") as sim:
        c = await connect(session, sim.private_url)
        for _ in range(15):
            await c.req("batch-orders", [market(sim)] * 20)
        over = await c.req("batch-orders", [market(sim, "ETH-USDT"), market(sim)])
        assert (over["code"], over["data"]) == ("50011", [])
        assert "Rate limit reached" in over["msg"] and "inTime" in over
        assert len(sim.orders()) == 300  # a refused batch places nothing, not even ETH
        assert (await c.req("batch-orders", [market(sim, "ETH-USDT")]))["code"] == "0"
        b = await connect(session, sim.business_url)
        for _ in range(20):
            assert (await b.req("sprd-order", [spread]))["code"] == "0"
        over = await b.req("sprd-order", [spread])
        assert (over["code"], over["data"]) == ("50011", [])
    async with OkxSimulator(rate_limits=False) as sim:
        b = await connect(session, sim.business_url)
        for _ in range(25):
            assert (await b.req("sprd-order", [spread]))["code"] == "0"


# -- faults --------------------------------------------------------------------------------
@pytest.mark.parametrize("process", [False, True])
async def test_drop(session: aiohttp.ClientSession, sim: OkxSimulator, process: bool) -> None:
    c = await connect(session, sim.private_url)
    sim.faults.drop_next("order", process=process)
    await c.send_op("order", [limit(sim, clOrdId="lost1")])
    msg = await c.expect_close()
    assert msg.type is not WSMsgType.CLOSE  # no close frame: a network cut
    assert sim.received[-1]["args"][0]["clOrdId"] == "lost1"
    assert len(sim.orders()) == (1 if process else 0)
    again = await connect(session, sim.private_url)
    reply = await again.req("order", [limit(sim, clOrdId="lost1")])
    assert reply["data"][0]["sCode"] == ("51016" if process else "0")


async def test_swallow_and_delay_reorder_replies(
    session: aiohttp.ClientSession, sim: OkxSimulator
) -> None:
    c = await connect(session, sim.private_url)
    sim.faults.swallow_next("order")
    sim.faults.delay_next(0.3, "cancel-order")
    await c.send_op("order", [limit(sim, clOrdId="sw1")], id="1")
    await c.send_op("cancel-order", [{"instId": "BTC-USDT", "clOrdId": "sw1"}], id="2")
    await c.send_op("order", [limit(sim, clOrdId="sw2")], id="3")
    third = await c.recv()
    second = await c.recv()
    assert (third["id"], second["id"]) == ("3", "2")
    assert second["code"] == "0"  # the swallowed order existed: cancel found it
    assert int(second["outTime"]) > int(third["outTime"])
    assert int(second["inTime"]) < int(third["inTime"])
    with pytest.raises(asyncio.TimeoutError):
        await c.ws.receive(timeout=0.2)  # the swallowed reply never comes
    assert [o["state"] for o in sim.orders()] == ["canceled", "live"]
    assert sim.faults.injected["swallow"] == 1 and sim.faults.injected["delay"] == 1


async def test_notice_then_close_after_grace(session: aiohttp.ClientSession) -> None:
    async with OkxSimulator(notice_grace=0.4) as sim:
        c = Client(await session.ws_connect(sim.private_url))
        login = await c.login()
        sim.send_notice()
        notice = await c.recv()
        assert notice == {
            "event": "notice",
            "code": "64008",
            "msg": "The connection will soon be closed for a service upgrade. Please reconnect.",
            "connId": login["connId"],
        }
        assert (await c.req("order", [limit(sim)]))["code"] == "0"  # replies still flow
        msg = await c.expect_close()
        assert (msg.type, msg.data) == (WSMsgType.CLOSE, 1001)
        assert json.loads(sim.notice_frames("abcd0123")[0])["connId"] == "abcd0123"


# -- REST --------------------------------------------------------------------------------------
async def test_rest(session: aiohttp.ClientSession, sim: OkxSimulator) -> None:
    async def get(path: str) -> tuple[int, dict[str, Any]]:
        async with session.get(sim.url + path) as r:
            return r.status, await r.json()

    status, spot = await get("/api/v5/public/instruments?instType=SPOT")
    assert status == 200 and spot["code"] == "0"
    assert [r["instId"] for r in spot["data"]] == ["BTC-USDT", "ETH-USDT"]
    row = spot["data"][0]
    assert row["instIdCode"] == sim.inst_id_code("BTC-USDT")
    for key in ["instType", "instFamily", "uly", "baseCcy", "quoteCcy", "settleCcy", "ctVal"]:
        assert isinstance(row[key], str)
    for key in ["lotSz", "minSz", "tickSz", "lever", "listTime", "maxMktSz", "maxLmtSz"]:
        assert isinstance(row[key], str)
    assert row["state"] == "live"
    _, swap = await get("/api/v5/public/instruments?instType=SWAP&instId=ETH-USDT-SWAP")
    assert [(r["instId"], r["ctVal"], r["settleCcy"]) for r in swap["data"]] == [
        ("ETH-USDT-SWAP", "0.1", "USDT")
    ]
    _, fut = await get("/api/v5/public/instruments?instType=FUTURES")
    assert [r["instId"] for r in fut["data"]] == ["BTC-USD-261225"]
    status, opt = await get("/api/v5/public/instruments?instType=OPTION")
    assert (status, opt["code"], opt["msg"]) == (
        400,
        "50014",
        "Parameter instFamily can not be empty",
    )
    for query in ("instFamily=BTC-USD", "uly=BTC-USD"):
        _, opt = await get(f"/api/v5/public/instruments?instType=OPTION&{query}")
        assert [r["instId"] for r in opt["data"]] == [OPTION]
    assert (await get("/api/v5/public/instruments"))[1]["code"] == "50014"
    assert (await get("/api/v5/public/instruments?instType=BOND"))[1]["code"] == "51000"
    before = sim.now_ms()
    _, t = await get("/api/v5/public/time")
    assert t["code"] == "0" and before <= int(t["data"][0]["ts"]) <= sim.now_ms()
    assert await get("/api/v5/asset/currencies") == (200, {"code": "0", "msg": "", "data": []})


def test_custom_instruments() -> None:
    sim = OkxSimulator(
        instruments=[
            {"instType": "SPOT", "instId": "SOL-USDT"},
            {"instType": "SWAP", "instId": "X"},
        ]
    )
    assert sim.inst_id_code("SOL-USDT") != sim.inst_id_code("X")
    assert sim.instrument_rows()[0]["state"] == "live"
    with pytest.raises(ValueError):
        OkxSimulator(instruments=[{"instType": "STOCK", "instId": "A"}])
    with pytest.raises(KeyError):
        sim.inst_id_code("BTC-USDT")


# -- thread mode -------------------------------------------------------------------------------
async def test_thread_mode_and_fill_from_another_thread(session: aiohttp.ClientSession) -> None:
    with OkxSimulator() as sim:
        c = await connect(session, sim.private_url)
        oid = (await c.req("order", [limit(sim, sz="2")]))["data"][0]["ordId"]
        part = await asyncio.to_thread(sim.fill, oid, "0.75")
        assert (part["state"], part["fillSz"]) == ("partially_filled", "0.75")
        done = await asyncio.to_thread(sim.fill, oid)
        assert (done["state"], done["fillSz"]) == ("filled", "2")
        with pytest.raises(ValueError):
            await asyncio.to_thread(sim.fill, oid)
        with pytest.raises(KeyError):
            sim.fill("404")
        reply = await c.req("cancel-order", [{"instId": "BTC-USDT", "ordId": oid}])
        assert reply["data"][0]["sCode"] == "51400"
        assert await asyncio.to_thread(sim.orders) == sim.orders()
        await c.ws.close()


async def test_keep_closed_bounds_history_not_behaviour(session: aiohttp.ClientSession) -> None:
    async with OkxSimulator(keep_closed=2) as sim:
        c = await connect(session, sim.private_url)
        live = (await c.req("order", [limit(sim, clOrdId="keep")]))["data"][0]["ordId"]
        first = (await c.req("order", [market(sim, clOrdId="old")]))["data"][0]["ordId"]
        for _ in range(3):
            await c.req("order", [market(sim)])
        assert [o["state"] for o in sim.orders()] == ["live", "filled", "filled"]
        assert sim.find_order(ord_id=first) is None
        assert sim.find_order(cl_ord_id="keep", api_key=KEY)["ordId"] == live  # type: ignore[index]
        gone = await c.req("cancel-order", [{"instId": "BTC-USDT", "ordId": first}])
        assert gone["data"][0]["sCode"] == "51400"
        with pytest.raises(KeyError):
            sim.orders("no-such-key")


# -- signed REST order lookups ---------------------------------------------------------------
def iso_now(offset_s: float = 0.0) -> str:
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset_s)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def rest_headers(
    path: str,
    *,
    key: str = KEY,
    secret: str = SECRET,
    passphrase: str = PASS,
    ts: str | None = None,
    demo: bool = False,
    method: str = "GET",
) -> dict[str, str]:
    """OKX's signed-request headers, computed here: base64 HMAC-SHA256 of
    timestamp + method + path-with-query (+ body, none for GET)."""
    ts = iso_now() if ts is None else ts
    mac = hmac.new(secret.encode(), f"{ts}{method}{path}".encode(), hashlib.sha256)
    h = {
        "OK-ACCESS-KEY": key,
        "OK-ACCESS-SIGN": base64.b64encode(mac.digest()).decode(),
        "OK-ACCESS-TIMESTAMP": ts,
        "OK-ACCESS-PASSPHRASE": passphrase,
    }
    if demo:
        h["x-simulated-trading"] = "1"
    return h


async def rest_get(
    session: aiohttp.ClientSession, sim: OkxSimulator, path: str, **kw: Any
) -> tuple[int, dict[str, Any]]:
    headers = kw.pop("headers", None) or rest_headers(path, **kw)
    async with session.get(sim.url + path, headers=headers) as r:
        return r.status, await r.json()


async def test_rest_lookup_follows_the_order_through_its_life(
    session: aiohttp.ClientSession, sim: OkxSimulator
) -> None:
    c = await connect(session, sim.private_url)
    placed = await c.req("order", [limit(sim, clOrdId="life1", px="100", sz="2")])
    oid = placed["data"][0]["ordId"]
    by_cl = "/api/v5/trade/order?instId=BTC-USDT&clOrdId=life1"
    status, body = await rest_get(session, sim, by_cl)
    assert (status, body["code"], body["msg"], len(body["data"])) == (200, "0", "", 1)
    row = body["data"][0]
    assert {k: row[k] for k in ("instId", "ordId", "clOrdId", "state", "px", "sz")} == {
        "instId": "BTC-USDT",
        "ordId": oid,
        "clOrdId": "life1",
        "state": "live",
        "px": "100",
        "sz": "2",
    }
    assert (row["accFillSz"], row["side"], row["ordType"], row["tdMode"]) == (
        "0",
        "buy",
        "limit",
        "cash",
    )
    assert row["cTime"] == row["uTime"] and row["cTime"].isdigit()
    # An amend shows in the lookup (by ordId this time).
    amended = await c.req(
        "amend-order", [{"instId": "BTC-USDT", "ordId": oid, "newPx": "101", "newSz": "3"}]
    )
    assert amended["data"][0]["sCode"] == "0"
    _, body = await rest_get(session, sim, f"/api/v5/trade/order?instId=BTC-USDT&ordId={oid}")
    assert (body["data"][0]["px"], body["data"][0]["sz"]) == ("101", "3")
    assert int(body["data"][0]["uTime"]) >= int(body["data"][0]["cTime"])
    sim.fill(oid, "1")
    _, body = await rest_get(session, sim, by_cl)
    assert (body["data"][0]["state"], body["data"][0]["accFillSz"]) == ("partially_filled", "1")
    # Canceled orders stay findable, by either id.
    await c.req("cancel-order", [{"instId": "BTC-USDT", "clOrdId": "life1"}])
    _, body = await rest_get(session, sim, by_cl)
    assert body["data"][0]["state"] == "canceled"
    # A filled one too; a reused clOrdId finds the newest order.
    newer = await c.req("order", [market(sim, clOrdId="life1")])
    _, body = await rest_get(session, sim, by_cl)
    assert (body["data"][0]["ordId"], body["data"][0]["state"]) == (
        newer["data"][0]["ordId"],
        "filled",
    )
    _, body = await rest_get(session, sim, f"/api/v5/trade/order?instId=BTC-USDT&ordId={oid}")
    assert body["data"][0]["state"] == "canceled"
    assert [(x["path"], x["code"]) for x in sim.lookups][-1] == ("/api/v5/trade/order", "0")
    assert sim.lookups[-1]["account"] == KEY


async def test_rest_lookup_not_found_and_bad_parameters(
    session: aiohttp.ClientSession, sim: OkxSimulator
) -> None:
    c = await connect(session, sim.private_url)
    await c.req("order", [limit(sim, clOrdId="there")])
    cases = {
        "/api/v5/trade/order?instId=BTC-USDT&clOrdId=never": (200, "51603"),
        "/api/v5/trade/order?instId=BTC-USDT&ordId=123": (200, "51603"),
        "/api/v5/trade/order?instId=ETH-USDT&clOrdId=there": (200, "51603"),  # other instrument
        "/api/v5/trade/order?clOrdId=there": (400, "50014"),
        "/api/v5/trade/order?instId=BTC-USDT": (400, "50014"),
        "/api/v5/trade/order?instId=NOPE-USDT&clOrdId=there": (200, "51001"),
        "/api/v5/trade/order?instId=BTC-USDT&ordId=abc": (400, "51000"),
        "/api/v5/sprd/order?clOrdId=there": (200, "51603"),  # not a spread order
    }
    for path, (status, code) in cases.items():
        got, body = await rest_get(session, sim, path)
        assert (got, body["code"], body["data"]) == (status, code, []), path
    _, body = await rest_get(session, sim, "/api/v5/trade/order?instId=BTC-USDT&clOrdId=never")
    assert body["msg"] == "Order does not exist"


async def test_rest_lookup_of_spread_orders(
    session: aiohttp.ClientSession, sim: OkxSimulator
) -> None:
    b = await connect(session, sim.business_url)
    spread = {"sprdId": SPREAD, "side": "sell", "ordType": "limit", "px": "-5", "sz": "2"}
    oid = (await b.req("sprd-order", [{**spread, "clOrdId": "sp1"}]))["data"][0]["ordId"]
    status, body = await rest_get(session, sim, "/api/v5/sprd/order?clOrdId=sp1")
    assert (status, body["code"]) == (200, "0")
    row = body["data"][0]
    assert (row["sprdId"], row["ordId"], row["px"], row["sz"], row["state"]) == (
        SPREAD,
        oid,
        "-5",
        "2",
        "live",
    )
    await b.req("sprd-amend-order", [{"ordId": oid, "newPx": "-4"}])
    _, body = await rest_get(session, sim, f"/api/v5/sprd/order?ordId={oid}")
    assert body["data"][0]["px"] == "-4"
    await b.req("sprd-cancel-order", [{"clOrdId": "sp1"}])
    _, body = await rest_get(session, sim, "/api/v5/sprd/order?clOrdId=sp1")
    assert (body["data"][0]["state"], body["data"][0]["canceledSz"]) == ("canceled", "2")
    # Not in the order-book endpoint.
    _, body = await rest_get(session, sim, f"/api/v5/trade/order?instId=BTC-USDT&ordId={oid}")
    assert body["code"] == "51603"


async def test_rest_signature_checks(session: aiohttp.ClientSession) -> None:
    demo_key = OkxCredential("demo-key", "demo-secret", "demo-pass", demo=True)
    eea_key = OkxCredential("eea-key", "eea-secret", "eea-pass", region="EEA")
    creds = [OkxCredential(KEY, SECRET, PASS), demo_key, eea_key]
    path = "/api/v5/trade/order?instId=BTC-USDT&clOrdId=x1"
    async with OkxSimulator(credentials=creds) as sim:

        async def code(**kw: Any) -> tuple[int, str]:
            status, body = await rest_get(session, sim, path, **kw)
            return status, body["code"]

        assert await code() == (200, "51603")  # authenticated; no such order
        good = rest_headers(path)
        for header, want in [
            ("OK-ACCESS-KEY", "50103"),
            ("OK-ACCESS-PASSPHRASE", "50104"),
            ("OK-ACCESS-SIGN", "50106"),
            ("OK-ACCESS-TIMESTAMP", "50107"),
        ]:
            missing = {k: v for k, v in good.items() if k != header}
            assert await code(headers=missing) == (401, want), header
        assert await code(ts=str(int(time.time()))) == (401, "50112")  # not ISO 8601
        assert await code(ts="2026-13-01T00:00:00.000Z") == (401, "50112")
        assert await code(ts=iso_now(-31)) == (401, "50102")
        assert await code(ts=iso_now(+31)) == (401, "50102")
        assert await code(ts=iso_now(-20)) == (200, "51603")
        assert await code(key="who") == (401, "50111")
        assert await code(passphrase="nope") == (401, "50105")
        assert await code(secret="wrong") == (401, "50113")
        # The signature covers the query string exactly as sent.
        other = rest_headers("/api/v5/trade/order?instId=BTC-USDT&clOrdId=x2")
        assert await code(headers=other) == (401, "50113")
        assert await code(method="POST") == (401, "50113")
        # Demo keys need x-simulated-trading: 1; live keys must not send it.
        assert await code(key="demo-key", secret="demo-secret", passphrase="demo-pass") == (
            401,
            "50101",
        )
        assert await code(demo=True) == (401, "50101")
        assert await code(key="eea-key", secret="eea-secret", passphrase="eea-pass") == (
            401,
            "50119",
        )
        _, body = await rest_get(session, sim, path, key="who")
        assert body == {"code": "50111", "msg": "Invalid OK-ACCESS-KEY.", "data": []}
        assert [x["code"] for x in sim.lookups][:2] == ["51603", "50103"]
    async with OkxSimulator(credentials=[demo_key], demo=True) as sim:
        demo_args = {"key": "demo-key", "secret": "demo-secret", "passphrase": "demo-pass"}
        assert await code(demo=True, **demo_args) == (200, "51603")
        assert await code(**demo_args) == (401, "50101")


async def test_rest_lookups_are_per_account(session: aiohttp.ClientSession) -> None:
    other = OkxCredential("k2", "s2", "p2")
    async with OkxSimulator(credentials=[OkxCredential(KEY, SECRET, PASS), other]) as sim:
        c = await connect(session, sim.private_url)
        await c.req("order", [limit(sim, clOrdId="mine")])
        path = "/api/v5/trade/order?instId=BTC-USDT&clOrdId=mine"
        assert (await rest_get(session, sim, path))[1]["code"] == "0"
        status, body = await rest_get(session, sim, path, key="k2", secret="s2", passphrase="p2")
        assert (status, body["code"]) == (200, "51603")


async def test_rest_lookup_rate_limit_and_failure_fault(session: aiohttp.ClientSession) -> None:
    path = "/api/v5/trade/order?instId=BTC-USDT&clOrdId=rl"
    async with OkxSimulator() as sim:
        sim.faults.fail_rest_next(2, status=502)
        for _ in range(2):
            async with session.get(sim.url + path, headers=rest_headers(path)) as r:
                assert r.status == 502
        codes = [(await rest_get(session, sim, path))[1]["code"] for _ in range(61)]
        assert codes[:60] == ["51603"] * 60
        assert codes[60] == "50011"
        assert sim.faults.injected["rest_failure"] == 2
        assert [x["code"] for x in sim.lookups[:2]] == ["HTTP 502", "HTTP 502"]


async def test_drop_after_execution(session: aiohttp.ClientSession, sim: OkxSimulator) -> None:
    c = await connect(session, sim.private_url)
    sim.faults.drop_after_execution("amend-order")
    placed = await c.req("order", [limit(sim, clOrdId="dae1")])  # not matched: normal reply
    assert placed["data"][0]["sCode"] == "0"
    await c.send_op("amend-order", [{"instId": "BTC-USDT", "clOrdId": "dae1", "newPx": "99"}])
    msg = await c.expect_close()
    assert msg.type is not WSMsgType.CLOSE
    _, body = await rest_get(session, sim, "/api/v5/trade/order?instId=BTC-USDT&clOrdId=dae1")
    assert body["data"][0]["px"] == "99"  # executed, though the reply never came


async def test_drop_then_execute_applies_the_queued_request_later(
    session: aiohttp.ClientSession, sim: OkxSimulator
) -> None:
    c = await connect(session, sim.private_url)
    sim.faults.drop_then_execute("order", after=1.0)
    await c.send_op("order", [limit(sim, clOrdId="queued1")])
    await c.expect_close()
    path = "/api/v5/trade/order?instId=BTC-USDT&clOrdId=queued1"
    assert (await rest_get(session, sim, path))[1]["code"] == "51603"  # not yet
    # The simulator runs on this loop: its timer (set before the cut) fires before ours.
    await asyncio.sleep(1.1)
    _, body = await rest_get(session, sim, path)
    assert (body["code"], body["data"][0]["state"]) == ("0", "live")
    # With an expTime that passes while it waits, the request never takes effect.
    c = await connect(session, sim.private_url)
    sim.faults.drop_then_execute("order", after=0.3)
    exp = str(sim.now_ms() + 100)
    await c.send_op("order", [limit(sim, clOrdId="queued2")], expTime=exp)
    await c.expect_close()
    await asyncio.sleep(0.5)
    path = "/api/v5/trade/order?instId=BTC-USDT&clOrdId=queued2"
    assert (await rest_get(session, sim, path))[1]["code"] == "51603"
    assert sim.faults.injected["drop_queued"] == 2
    with pytest.raises(ValueError):
        sim.faults.drop_then_execute(after=-1)


# -- TLS listener ------------------------------------------------------------------------------
async def test_tls_listener_serves_wss_and_https_with_its_own_ca(
    session: aiohttp.ClientSession,
) -> None:
    pytest.importorskip("trustme")
    async with OkxSimulator(tls=True) as sim:
        assert sim.private_url.startswith("wss://127.0.0.1:")
        assert sim.url.startswith("https://127.0.0.1:")
        assert sim.ca_file is not None and sim.ca_file.endswith(".pem")
        with open(sim.ca_file) as f:
            assert f.read().startswith("-----BEGIN CERTIFICATE-----")
        ctx = ssl.create_default_context(cafile=sim.ca_file)
        c = await connect(session, sim.private_url, ssl=ctx)
        placed = await c.req("order", [limit(sim, clOrdId="tls1")])
        assert placed["data"][0]["sCode"] == "0"
        path = "/api/v5/trade/order?instId=BTC-USDT&clOrdId=tls1"
        async with session.get(sim.url + path, headers=rest_headers(path), ssl=ctx) as r:
            assert (r.status, (await r.json())["data"][0]["state"]) == (200, "live")
        await c.ws.close()  # closed here, not by the garbage collector in a later test
        # A client that does not trust the throwaway CA is refused.
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await session.ws_connect(sim.private_url)
        # Plain ws:// is not served on a TLS port.
        with pytest.raises(aiohttp.ClientError):
            await session.ws_connect(sim.private_url.replace("wss://", "ws://"))
        ca_file = sim.ca_file
    assert sim.ca_file is None and not os.path.exists(ca_file)


def test_tls_simulator_in_a_thread_and_its_client_context() -> None:
    pytest.importorskip("trustme")
    plain = OkxSimulator()
    with pytest.raises(RuntimeError):
        plain.client_ssl_context()
    with OkxSimulator(tls=True) as sim:
        ctx = sim.client_ssl_context()
        host, port = "127.0.0.1", sim.port
        with (
            socket.create_connection((host, port), timeout=5) as raw,
            ctx.wrap_socket(raw, server_hostname=host) as tls,
        ):
            tls.sendall(b"GET /api/v5/public/time HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := tls.recv(4096):
                data += chunk
        assert data.startswith(b"HTTP/1.1 200")
        assert b'"code":"0"' in data

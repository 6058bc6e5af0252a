"""OKX's wire vocabulary as the simulator speaks it: enums, messages, codes, default
instruments, JSON codecs and reply envelopes."""

from __future__ import annotations

import re
from collections.abc import Awaitable
from typing import Any, TypeVar

import msgspec
from aiohttp import WSMsgType, web

T = TypeVar("T")

_ENC = msgspec.json.Encoder()
_DEC = msgspec.json.Decoder()

# -- wire vocabulary -----------------------------------------------------------------
_ORDER_TYPES = frozenset(
    {
        "market",
        "limit",
        "post_only",
        "fok",
        "ioc",
        "optimal_limit_ioc",
        "mmp",
        "mmp_and_post_only",
        "elp",
        "rpi",
    }
)
_PX_TYPES = frozenset(
    {"limit", "post_only", "fok", "ioc", "mmp", "mmp_and_post_only", "elp", "rpi"}
)
# The fill model is deterministic: these fill in full on arrival, everything else rests.
_IMMEDIATE = frozenset({"market", "optimal_limit_ioc", "ioc", "fok"})
_TD_MODES = frozenset({"isolated", "cross", "cash", "spot_isolated"})
_SIDES = frozenset({"buy", "sell"})
_POS_SIDES = frozenset({"net", "long", "short"})
_SPRD_TYPES = frozenset({"market", "limit", "post_only", "ioc"})
_SPRD_IMMEDIATE = frozenset({"market", "ioc"})
_PENDING = frozenset({"live", "partially_filled"})
_CANON = {v: v for v in _ORDER_TYPES | _TD_MODES | _SIDES | _POS_SIDES}
_INST_TYPES = frozenset({"SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION"})
_REGIONS = frozenset({"prod", "EEA", "US"})

_POS_DEC = re.compile(r"\d+(?:\.\d+)?")
# Spread prices are leg differences and may be negative on OKX.
_SIGNED_DEC = re.compile(r"-?\d+(?:\.\d+)?")
_TS = re.compile(r"\d+(?:\.\d+)?")

_M_RATE = "Rate limit reached. Please refer to API documentation and throttle requests accordingly."
_M_NO_INST = "Instrument ID, Instrument ID code or Spread ID doesn't exist."
_M_DUP = "Client order ID already exists."
_M_CXL = "Order cancellation failed as the order has been filled, canceled or does not exist."
_M_AMD = "Order modification failed as the order has been filled, canceled or does not exist."
_M_EXP = (
    "The expTime can't be earlier than the current system time. "
    "Please adjust the expTime and try again."
)
_M_LOCK = "Order placement failed during mass cancel lock"
_M_PLACED = "Order successfully placed."
_M_CANCELED = "Cancellation accepted."
_M_AMENDED = "Modification accepted."
_M_NO_ID = "Parameter ordId or clOrdId can not be empty"
_M_NOTICE = "The connection will soon be closed for a service upgrade. Please reconnect."
_M_WRONG_URL = "The operation is not supported by this URL"
_M_IDLE = "No data received in 30s."

_M_NO_ORDER = "Order does not exist"

# Signed REST errors (OKX's REST error table, HTTP 401); 50119 for a key of another
# region is UNVERIFIED (the WebSocket login answers 60032 there).
_REST_MSG = {
    "50101": "APIKey does not match current environment.",
    "50102": "Timestamp request expired.",
    "50103": 'Request header "OK-ACCESS-KEY" can not be empty.',
    "50104": 'Request header "OK-ACCESS-PASSPHRASE" can not be empty.',
    "50105": 'Request header "OK-ACCESS-PASSPHRASE" incorrect.',
    "50106": 'Request header "OK-ACCESS-SIGN" can not be empty.',
    "50107": 'Request header "OK-ACCESS-TIMESTAMP" can not be empty.',
    "50111": "Invalid OK-ACCESS-KEY.",
    "50112": "Invalid OK-ACCESS-TIMESTAMP.",
    "50113": "Invalid Sign.",
    "50119": "API key doesn't exist.",
}
_ISO_MS = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z")

_LOGIN_MSG = {
    "50101": "APIKey does not match current environment",
    "60004": "Invalid timestamp",
    "60005": "Invalid apiKey",
    "60006": "Timestamp request expired",
    "60007": "Invalid sign",
    "60009": "Login failed.",
    "60024": "Wrong passphrase",
    "60031": "The WebSocket endpoint does not allow multiple or repeated logins.",
    "60032": "API key doesn't exist",
    "63999": "Login failed due to internal error",
}


_EXPIRY_261225 = "1798185600000"  # 2026-12-25 08:00 UTC, OKX's delivery time
_LIST_TIME = "1606468572000"

_DEFAULT_INSTRUMENTS: tuple[dict[str, Any], ...] = (
    {
        "instType": "SPOT",
        "instId": "BTC-USDT",
        "instIdCode": 100001,
        "baseCcy": "BTC",
        "quoteCcy": "USDT",
        "lotSz": "0.00000001",
        "minSz": "0.00001",
        "tickSz": "0.1",
        "lever": "10",
        "maxMktSz": "1000000",
    },
    {
        "instType": "SPOT",
        "instId": "ETH-USDT",
        "instIdCode": 100002,
        "baseCcy": "ETH",
        "quoteCcy": "USDT",
        "lotSz": "0.000001",
        "minSz": "0.0001",
        "tickSz": "0.01",
        "lever": "10",
        "maxMktSz": "1000000",
    },
    {
        "instType": "SWAP",
        "instId": "BTC-USDT-SWAP",
        "instIdCode": 200001,
        "instFamily": "BTC-USDT",
        "uly": "BTC-USDT",
        "settleCcy": "USDT",
        "ctVal": "0.01",
        "ctMult": "1",
        "ctValCcy": "BTC",
        "ctType": "linear",
        "lotSz": "0.01",
        "minSz": "0.01",
        "tickSz": "0.1",
        "lever": "100",
    },
    {
        "instType": "SWAP",
        "instId": "ETH-USDT-SWAP",
        "instIdCode": 200002,
        "instFamily": "ETH-USDT",
        "uly": "ETH-USDT",
        "settleCcy": "USDT",
        "ctVal": "0.1",
        "ctMult": "1",
        "ctValCcy": "ETH",
        "ctType": "linear",
        "lotSz": "0.01",
        "minSz": "0.01",
        "tickSz": "0.01",
        "lever": "100",
    },
    {
        "instType": "FUTURES",
        "instId": "BTC-USD-261225",
        "instIdCode": 300001,
        "instFamily": "BTC-USD",
        "uly": "BTC-USD",
        "settleCcy": "BTC",
        "ctVal": "100",
        "ctMult": "1",
        "ctValCcy": "USD",
        "ctType": "inverse",
        "alias": "quarter",
        "expTime": _EXPIRY_261225,
        "lotSz": "1",
        "minSz": "1",
        "tickSz": "0.1",
        "lever": "100",
    },
    {
        "instType": "OPTION",
        "instId": "BTC-USD-261225-100000-C",
        "instIdCode": 400001,
        "instFamily": "BTC-USD",
        "uly": "BTC-USD",
        "settleCcy": "BTC",
        "ctVal": "0.01",
        "ctMult": "1",
        "ctValCcy": "BTC",
        "optType": "C",
        "stk": "100000",
        "expTime": _EXPIRY_261225,
        "lotSz": "1",
        "minSz": "1",
        "tickSz": "0.0005",
        "lever": "",
    },
)
_DEFAULT_SPREADS = ("BTC-USDT_BTC-USDT-SWAP", "ETH-USDT_ETH-USDT-SWAP")

# Every row carries the same keys, as OKX's do; clients such as ccxt read most of them.
_ROW_DEFAULTS: dict[str, Any] = {
    "instType": "",
    "instId": "",
    "instIdCode": 0,
    "instFamily": "",
    "uly": "",
    "baseCcy": "",
    "quoteCcy": "",
    "settleCcy": "",
    "ctVal": "",
    "ctMult": "",
    "ctValCcy": "",
    "ctType": "",
    "optType": "",
    "stk": "",
    "alias": "",
    "category": "1",
    "ruleType": "normal",
    "lotSz": "1",
    "minSz": "1",
    "tickSz": "0.1",
    "state": "live",
    "lever": "",
    "listTime": _LIST_TIME,
    "expTime": "",
    "maxMktSz": "100000",
    "maxLmtSz": "9999999999",
    "maxMktAmt": "1000000",
    "maxLmtAmt": "20000000",
}


if hasattr(web.WebSocketResponse, "send_frame"):  # aiohttp >= 3.11: no str round trip

    def _send(ws: web.WebSocketResponse, payload: bytes) -> Awaitable[None]:
        # Returns the writer's awaitable itself: no extra coroutine frame per reply.
        return ws.send_frame(payload, WSMsgType.TEXT)

else:  # pragma: no cover - older aiohttp

    def _send(ws: web.WebSocketResponse, payload: bytes) -> Awaitable[None]:
        return ws.send_str(payload.decode())


def _reply(
    rid: str, op: str, code: str, data: list[dict[str, Any]], t_in: str | None
) -> dict[str, Any]:
    r: dict[str, Any] = {"id": rid, "op": op, "code": code, "msg": "", "data": data}
    if t_in is not None:
        r["inTime"] = t_in
    return r


def _top(rid: str, op: str, code: str, msg: str, t_in: str | None) -> dict[str, Any]:
    r: dict[str, Any] = {"id": rid, "op": op, "code": code, "msg": msg, "data": []}
    if t_in is not None:
        r["inTime"] = t_in
    return r

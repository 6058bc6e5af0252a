"""A simulated OKX v5 WebSocket trading server, for okxkc's tests and for users' bots.

One loopback port serves ``/ws/v5/public``, ``/ws/v5/private`` and ``/ws/v5/business``
(login, text ping/pong, idle close, the order-book ops ``order`` .. ``mass-cancel`` and
the spread ops ``sprd-*``) plus the few REST endpoints clients call first
(``/api/v5/public/instruments``, ``/api/v5/public/time``, ``/api/v5/asset/currencies``).
It follows ``protocol/okx.md``; behaviour the protocol notes mark UNVERIFIED is
switchable in the constructor. Like the rest of ``okxkc.testing`` it never imports the
client: it signs, parses and frames on its own.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import concurrent.futures
import datetime
import hashlib
import hmac
import itertools
import math
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import msgspec
from aiohttp import WSMsgType, web

from okxkc.testing._server import RollingLimiter, SimulatedExchange, _abort

__all__ = ["OkxCredential", "OkxSimulator"]

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


@dataclass(frozen=True, repr=False)
class OkxCredential:
    """An API key the simulator accepts; ``region`` is "prod", "EEA" or "US"."""

    api_key: str
    api_secret: str
    passphrase: str
    region: str = "prod"
    demo: bool = False

    def __post_init__(self) -> None:
        if self.region not in _REGIONS:
            raise ValueError(f"region must be one of {sorted(_REGIONS)}, not {self.region!r}")

    def __repr__(self) -> str:
        return (
            f"OkxCredential(api_key={self.api_key!r}, api_secret='***', passphrase='***', "
            f"region={self.region!r}, demo={self.demo!r})"
        )


_DEFAULT_CREDENTIAL = OkxCredential("okxkc-test-key", "okxkc-test-secret", "okxkc-test-pass")

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


class _Reject(Exception):
    """One item (or a whole single op) refused with an OKX code."""

    __slots__ = ("code", "msg")

    def __init__(self, code: str, msg: str) -> None:
        self.code = code
        self.msg = msg


class _Inst:
    __slots__ = ("code", "family", "inst_id", "inst_type", "row")

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row
        self.inst_id: str = row["instId"]
        self.code: int = row["instIdCode"]
        self.inst_type: str = row["instType"]
        self.family: str = row["instFamily"] or row["uly"]


class _Order:
    __slots__ = (
        "book",
        "c_time",
        "cl_ord_id",
        "fill_sz",
        "inst",
        "ord_id",
        "ord_type",
        "pos_side",
        "px",
        "side",
        "sprd_id",
        "state",
        "sz",
        "tag",
        "td_mode",
        "u_time",
    )

    def __init__(
        self,
        book: _Book,
        ord_id: str,
        cl_ord_id: str,
        inst: _Inst | None,
        sprd_id: str,
        side: str,
        ord_type: str,
        td_mode: str,
        px: str,
        sz: str,
        filled: bool,
        tag: str,
        now: int,
        pos_side: str = "",
    ) -> None:
        self.book = book
        self.pos_side = pos_side
        self.ord_id = ord_id
        self.cl_ord_id = cl_ord_id
        self.inst = inst
        self.sprd_id = sprd_id
        self.side = side
        self.ord_type = ord_type
        self.td_mode = td_mode
        self.px = px
        self.sz = sz
        self.fill_sz = sz if filled else "0"
        self.state = "filled" if filled else "live"
        self.tag = tag
        self.c_time = now
        self.u_time = now

    def as_dict(self) -> dict[str, Any]:
        inst = self.inst
        d: dict[str, Any] = {
            "ordId": self.ord_id,
            "clOrdId": self.cl_ord_id,
            "instId": inst.inst_id if inst is not None else self.sprd_id,
            "instIdCode": inst.code if inst is not None else None,
            "instType": inst.inst_type if inst is not None else "SPRD",
            "side": self.side,
            "ordType": self.ord_type,
            "tdMode": self.td_mode,
            "px": self.px,
            "sz": self.sz,
            "fillSz": self.fill_sz,
            "state": self.state,
            "tag": self.tag,
            "cTime": str(self.c_time),
            "uTime": str(self.u_time),
        }
        if inst is None:
            d["sprdId"] = self.sprd_id
        return d


class _Book:
    """One account's orders of one kind (order book or spread)."""

    __slots__ = ("account", "by_cl", "closed", "keep", "last_cl", "live", "orders")

    def __init__(self, account: str, keep: int) -> None:
        self.account = account
        self.keep = keep
        self.orders: dict[str, _Order] = {}  # live + the most recent ``keep`` closed ones
        self.live: dict[str, _Order] = {}
        self.by_cl: dict[str, _Order] = {}  # clOrdId index over pending orders only
        # clOrdId -> the newest order that used it, any state (what a REST lookup finds)
        self.last_cl: dict[str, _Order] = {}
        self.closed: collections.deque[str] = collections.deque()

    def add(self, o: _Order) -> None:
        self.orders[o.ord_id] = o
        if o.cl_ord_id:
            self.last_cl[o.cl_ord_id] = o
        if o.state in _PENDING:
            self.live[o.ord_id] = o
            if o.cl_ord_id:
                self.by_cl[o.cl_ord_id] = o
        else:
            self._retire(o.ord_id)

    def close(self, o: _Order, state: str) -> None:
        o.state = state
        self.live.pop(o.ord_id, None)
        if o.cl_ord_id and self.by_cl.get(o.cl_ord_id) is o:
            del self.by_cl[o.cl_ord_id]
        self._retire(o.ord_id)

    def _retire(self, ord_id: str) -> None:
        # Closed orders serve REST lookups and introspection (cancel/amend of an unknown
        # order gets the same code as of a closed one); a bounded history keeps long
        # benchmarks from growing without limit.
        closed = self.closed
        closed.append(ord_id)
        if len(closed) > self.keep:
            old = self.orders.pop(closed.popleft(), None)
            if old is not None and old.cl_ord_id and self.last_cl.get(old.cl_ord_id) is old:
                del self.last_cl[old.cl_ord_id]


class _Account:
    __slots__ = ("normal", "spread")

    def __init__(self, api_key: str, keep: int) -> None:
        self.normal = _Book(api_key, keep)
        self.spread = _Book(api_key, keep)


class _Conn:
    __slots__ = ("account", "conn_id", "idle", "kind", "last_rx", "notice", "path", "ws")

    def __init__(self, ws: web.WebSocketResponse, path: str, conn_id: str, now: float) -> None:
        self.ws = ws
        self.path = path
        self.kind = path.rsplit("/", 1)[1]  # public | private | business
        self.conn_id = conn_id
        self.account: str | None = None
        self.last_rx = now
        self.idle: asyncio.TimerHandle | None = None
        self.notice: asyncio.TimerHandle | None = None


_ItemRun = Callable[[str, _Account, dict[str, Any], int, "set[str] | None"], dict[str, Any]]
_WholeRun = Callable[[str, _Account, dict[str, Any], int], None]
_Fail = Callable[[dict[str, Any], int, str, str], dict[str, Any]]


class _OpSpec:
    __slots__ = ("exp", "fail", "kind", "limiter", "per_inst", "run", "single", "times", "whole")

    def __init__(
        self,
        kind: str,
        single: bool,
        limiter: RollingLimiter,
        *,
        per_inst: bool = False,
        times: bool = True,
        exp: bool = False,
        run: _ItemRun | None = None,
        fail: _Fail | None = None,
        whole: _WholeRun | None = None,
    ) -> None:
        self.kind = kind
        self.single = single
        self.limiter = limiter
        self.per_inst = per_inst
        self.times = times
        self.exp = exp
        self.run = run
        self.fail = fail
        self.whole = whole


# -- small validators (raise _Reject with OKX's code) ------------------------------------
def _echo(v: Any) -> str:
    if type(v) is str:
        return v
    if type(v) is int:
        return str(v)
    return ""


def _enum(a: dict[str, Any], name: str, allowed: frozenset[str]) -> str:
    v = a.get(name)
    if v is None or v == "":
        raise _Reject("50014", f"Parameter {name} can not be empty")
    if type(v) is not str or v not in allowed:
        raise _Reject("51000", f"Parameter {name} error")
    return v


def _is_pos(v: Any) -> bool:
    return type(v) is str and _POS_DEC.fullmatch(v) is not None and v.strip("0.") != ""


def _size(a: dict[str, Any], name: str) -> str:
    v = a.get(name)
    if v is None or v == "":
        raise _Reject("50014", f"Parameter {name} can not be empty")
    if not _is_pos(v):
        raise _Reject("51000", f"Parameter {name} error")
    return v  # type: ignore[no-any-return]


def _alnum(a: dict[str, Any], name: str, limit: int) -> str:
    v = a.get(name)
    if v is None or v == "":
        return ""
    if type(v) is not str or len(v) > limit or not (v.isascii() and v.isalnum()):
        raise _Reject("51000", f"Parameter {name} error")
    return v


def _present(v: Any) -> bool:
    return v is not None and v != ""


def _fmt(d: Decimal) -> str:
    s = format(d, "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


def _sign(secret: str, timestamp: str) -> str:
    mac = hmac.new(secret.encode(), (timestamp + "GET/users/self/verify").encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


# -- failure items, one shape per op -------------------------------------------------------
def _fail_order(a: dict[str, Any], now: int, code: str, msg: str) -> dict[str, Any]:
    return {
        "ordId": "",
        "clOrdId": _echo(a.get("clOrdId")),
        "tag": _echo(a.get("tag")),
        "ts": str(now),
        "sCode": code,
        "sMsg": msg,
        "subCode": "",
    }


def _fail_cancel(a: dict[str, Any], now: int, code: str, msg: str) -> dict[str, Any]:
    return {
        "ordId": _echo(a.get("ordId")),
        "clOrdId": _echo(a.get("clOrdId")),
        "ts": str(now),
        "sCode": code,
        "sMsg": msg,
        "subCode": "",
    }


def _fail_amend(a: dict[str, Any], now: int, code: str, msg: str) -> dict[str, Any]:
    return {
        "ordId": _echo(a.get("ordId")),
        "clOrdId": _echo(a.get("clOrdId")),
        "ts": str(now),
        "reqId": _echo(a.get("reqId")),
        "sCode": code,
        "sMsg": msg,
        "subCode": "",
    }


def _fail_sprd_order(a: dict[str, Any], now: int, code: str, msg: str) -> dict[str, Any]:
    return {
        "ordId": "",
        "clOrdId": _echo(a.get("clOrdId")),
        "tag": _echo(a.get("tag")),
        "sCode": code,
        "sMsg": msg,
    }


def _fail_sprd_amend(a: dict[str, Any], now: int, code: str, msg: str) -> dict[str, Any]:
    return {
        "ordId": _echo(a.get("ordId")),
        "clOrdId": _echo(a.get("clOrdId")),
        "reqId": _echo(a.get("reqId")),
        "sCode": code,
        "sMsg": msg,
    }


def _fail_sprd_cancel(a: dict[str, Any], now: int, code: str, msg: str) -> dict[str, Any]:
    return {
        "ordId": _echo(a.get("ordId")),
        "clOrdId": _echo(a.get("clOrdId")),
        "sCode": code,
        "sMsg": msg,
    }


# -- REST order rows -------------------------------------------------------------------------
def _parse_iso_ms(ts: str) -> int | None:
    """Milliseconds since the epoch of ``2020-12-08T09:08:57.715Z``, or None."""
    m = _ISO_MS.fullmatch(ts)
    if m is None:
        return None
    try:
        y, mo, d, hh, mi, ss, ms = (int(g) for g in m.groups())
        when = datetime.datetime(y, mo, d, hh, mi, ss, tzinfo=datetime.timezone.utc)
    except ValueError:
        return None
    return int(when.timestamp()) * 1000 + ms


def _avg_px(o: _Order) -> str:
    # The fill model fills at the order price; a market order has no price to report.
    return o.px if o.fill_sz.strip("0.") else ""


def _order_row(o: _Order) -> dict[str, Any]:
    """``GET /api/v5/trade/order`` data row (the fields okxkc's simulator models)."""
    inst = o.inst
    assert inst is not None
    return {
        "instType": inst.inst_type,
        "instId": inst.inst_id,
        "ordId": o.ord_id,
        "clOrdId": o.cl_ord_id,
        "tag": o.tag,
        "px": o.px,
        "sz": o.sz,
        "ordType": o.ord_type,
        "side": o.side,
        "posSide": o.pos_side,
        "tdMode": o.td_mode,
        "accFillSz": o.fill_sz,
        "avgPx": _avg_px(o),
        "state": o.state,
        "category": "normal",
        "cancelSource": "",
        "cTime": str(o.c_time),
        "uTime": str(o.u_time),
    }


def _sprd_row(o: _Order) -> dict[str, Any]:
    """``GET /api/v5/sprd/order`` data row."""
    canceled = "0"
    if o.state == "canceled":
        canceled = _fmt(Decimal(o.sz) - Decimal(o.fill_sz))
    return {
        "sprdId": o.sprd_id,
        "ordId": o.ord_id,
        "clOrdId": o.cl_ord_id,
        "tag": o.tag,
        "px": o.px,
        "sz": o.sz,
        "ordType": o.ord_type,
        "side": o.side,
        "accFillSz": o.fill_sz,
        "pendingFillSz": "0",
        "pendingSettleSz": "0",
        "canceledSz": canceled,
        "avgPx": _avg_px(o),
        "state": o.state,
        "cancelSource": "",
        "cTime": str(o.c_time),
        "uTime": str(o.u_time),
    }


if hasattr(web.WebSocketResponse, "send_frame"):  # aiohttp >= 3.11: no str round trip

    def _send(ws: web.WebSocketResponse, payload: bytes) -> Awaitable[None]:
        # Returns the writer's awaitable itself: no extra coroutine frame per reply.
        return ws.send_frame(payload, WSMsgType.TEXT)

else:  # pragma: no cover - older aiohttp

    def _send(ws: web.WebSocketResponse, payload: bytes) -> Awaitable[None]:
        return ws.send_str(payload.decode())


class OkxSimulator(SimulatedExchange):
    """Simulated OKX WS trading API (and the REST calls clients make before trading).

    Start it with ``async with OkxSimulator() as sim:`` or, from blocking code,
    ``with OkxSimulator() as sim:`` (own thread). Connect to ``sim.private_url``,
    ``sim.business_url`` or ``sim.public_url`` and log in with one of ``credentials``.

    Arguments (keyword-only; the switches model behaviour ``protocol/okx.md`` leaves open):

    - ``credentials``: accepted keys (default one ``OkxCredential("okxkc-test-key",
      "okxkc-test-secret", "okxkc-test-pass")``); ``region`` and ``demo`` say which
      environment this server is, so a key of another one fails like on OKX.
    - ``instruments``: instrument rows (``instType`` and ``instId`` required, the rest
      defaulted, ``instIdCode`` assigned if absent); ``spreads``: spread ids.
    - ``host``, ``port`` (0: any free port), ``clock_offset_ms`` (server clock skew),
      ``record`` (keep every trading request in ``received``).
    - ``idle_timeout``: seconds without an inbound frame before close 4004.
    - ``login_window_s``: allowed distance of the login timestamp from server time.
    - ``require_inst_id_code``: refuse ``instId``-only items (50014), as production does.
    - ``rate_limits``, ``rate_limit_style`` ("item": 50011 in the item; "top": top-level).
    - ``close_on_login_failure``: close 4001 after a login error.
    - ``reject_relogin``: 60031 on a second login on one socket.
    - ``sprd_times``: add ``inTime``/``outTime`` to ``sprd-*`` and ``mass-cancel`` replies.
    - ``notice_grace``: seconds between :meth:`send_notice` and the server closing.
    - ``before_login_style``: "response" (``{id, op, code: "60011"}``) or "event".
    - ``keep_closed``: filled/canceled orders kept per account for :meth:`orders`;
      older ones are forgotten (a cancel of them gets 51400 either way).
    """

    name = "okx"

    def __init__(
        self,
        *,
        credentials: Sequence[OkxCredential] | None = None,
        region: str = "prod",
        demo: bool = False,
        instruments: Sequence[Mapping[str, Any]] | None = None,
        spreads: Sequence[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        clock_offset_ms: int = 0,
        record: bool = True,
        idle_timeout: float = 30.0,
        login_window_s: float = 30.0,
        require_inst_id_code: bool = False,
        rate_limits: bool = True,
        rate_limit_style: str = "item",
        close_on_login_failure: bool = False,
        reject_relogin: bool = False,
        sprd_times: bool = False,
        notice_grace: float = 60.0,
        before_login_style: str = "response",
        keep_closed: int = 100_000,
    ) -> None:
        super().__init__(host=host, port=port, clock_offset_ms=clock_offset_ms, record=record)
        if region not in _REGIONS:
            raise ValueError(f"region must be one of {sorted(_REGIONS)}, not {region!r}")
        if rate_limit_style not in ("item", "top"):
            raise ValueError("rate_limit_style must be 'item' or 'top'")
        if before_login_style not in ("response", "event"):
            raise ValueError("before_login_style must be 'response' or 'event'")
        self.credentials: tuple[OkxCredential, ...] = tuple(
            credentials if credentials is not None else (_DEFAULT_CREDENTIAL,)
        )
        if not self.credentials:
            raise ValueError("at least one credential is needed")
        if keep_closed < 0:
            raise ValueError("keep_closed must be >= 0")
        self.region = region
        self.demo = demo
        self.idle_timeout = idle_timeout
        self.login_window_s = login_window_s
        self.require_inst_id_code = require_inst_id_code
        self.rate_limits = rate_limits
        self.rate_limit_style = rate_limit_style
        self.close_on_login_failure = close_on_login_failure
        self.reject_relogin = reject_relogin
        self.sprd_times = sprd_times
        self.notice_grace = notice_grace
        self.before_login_style = before_login_style
        self.keep_closed = keep_closed

        self._creds = {c.api_key: c for c in self.credentials}
        self._accounts = {c.api_key: _Account(c.api_key, keep_closed) for c in self.credentials}
        self._instruments = self._build_instruments(
            instruments if instruments is not None else _DEFAULT_INSTRUMENTS
        )
        self._by_id = {i.inst_id: i for i in self._instruments}
        self._by_code = {i.code: i for i in self._instruments}
        self.spreads: tuple[str, ...] = tuple(spreads if spreads is not None else _DEFAULT_SPREADS)
        self._spreads = frozenset(self.spreads)
        self._conns: dict[web.WebSocketResponse, _Conn] = {}
        # OKX order ids are 18-19 digit decimal strings that grow over time.
        self._ids = itertools.count(700_000_000_000_000_001)
        self._locks: dict[tuple[str, str], int] = {}  # (account, instFamily) -> until ms
        self._ops = self._build_ops()
        # OKX: 60 order lookups per 2 s per user (shared by /trade/order and /sprd/order here).
        self._rest_limiter = RollingLimiter(60, 2.0)
        # Every signed REST order lookup (path, query, account, code, ts), in order.
        self.lookups: list[dict[str, Any]] = []
        self.faults.supports_queued_execution = True

    # -- configuration ---------------------------------------------------------------
    @staticmethod
    def _build_instruments(rows: Sequence[Mapping[str, Any]]) -> list[_Inst]:
        out: list[_Inst] = []
        used: set[int] = set()
        ids: set[str] = set()
        auto = itertools.count(900_001)
        for src in rows:
            row = dict(_ROW_DEFAULTS)
            row.update(src)
            if row["instType"] not in _INST_TYPES or not row["instId"]:
                raise ValueError(f"instrument needs instType in {sorted(_INST_TYPES)} and instId")
            if "instIdCode" not in src:
                row["instIdCode"] = next(c for c in auto if c not in used)
            row["instIdCode"] = int(row["instIdCode"])
            if row["instIdCode"] in used or row["instId"] in ids:
                raise ValueError(f"duplicate instrument {row['instId']} / {row['instIdCode']}")
            used.add(row["instIdCode"])
            ids.add(row["instId"])
            out.append(_Inst(row))
        return out

    def _build_ops(self) -> dict[str, _OpSpec]:
        def lim(n: int) -> RollingLimiter:
            return RollingLimiter(n, 2.0)

        return {
            "order": _OpSpec(
                "private", True, lim(60), per_inst=True, exp=True, run=self._place, fail=_fail_order
            ),
            "batch-orders": _OpSpec(
                "private",
                False,
                lim(300),
                per_inst=True,
                exp=True,
                run=self._place,
                fail=_fail_order,
            ),
            "cancel-order": _OpSpec(
                "private", True, lim(60), per_inst=True, run=self._cancel, fail=_fail_cancel
            ),
            "batch-cancel-orders": _OpSpec(
                "private", False, lim(300), per_inst=True, run=self._cancel, fail=_fail_cancel
            ),
            "amend-order": _OpSpec(
                "private", True, lim(60), per_inst=True, exp=True, run=self._amend, fail=_fail_amend
            ),
            "batch-amend-orders": _OpSpec(
                "private",
                False,
                lim(300),
                per_inst=True,
                exp=True,
                run=self._amend,
                fail=_fail_amend,
            ),
            "mass-cancel": _OpSpec("private", True, lim(5), times=False, whole=self._mass_cancel),
            "sprd-order": _OpSpec(
                "business", True, lim(20), times=False, run=self._sprd_place, fail=_fail_sprd_order
            ),
            "sprd-amend-order": _OpSpec(
                "business", True, lim(20), times=False, run=self._sprd_amend, fail=_fail_sprd_amend
            ),
            "sprd-cancel-order": _OpSpec(
                "business",
                True,
                lim(20),
                times=False,
                run=self._sprd_cancel,
                fail=_fail_sprd_cancel,
            ),
            "sprd-mass-cancel": _OpSpec(
                "business", True, lim(5), times=False, whole=self._sprd_mass_cancel
            ),
        }

    # -- typed context managers ----------------------------------------------------------
    async def __aenter__(self) -> OkxSimulator:
        await self.start()
        return self

    def __enter__(self) -> OkxSimulator:
        self.start_in_thread()
        return self

    # -- URLs and lookups ----------------------------------------------------------------
    @property
    def public_url(self) -> str:
        return f"{self.ws_url}/ws/v5/public"

    @property
    def private_url(self) -> str:
        return f"{self.ws_url}/ws/v5/private"

    @property
    def business_url(self) -> str:
        return f"{self.ws_url}/ws/v5/business"

    def inst_id_code(self, inst_id: str) -> int:
        """The ``instIdCode`` of an instrument (KeyError if the simulator does not list it)."""
        return self._by_id[inst_id].code

    def instrument_rows(self) -> list[dict[str, Any]]:
        """The instrument rows REST serves (copies), e.g. for ``ccxt``'s ``set_markets``."""
        return [dict(i.row) for i in self._instruments]

    # -- order book helpers for tests and users (thread-safe) ----------------------------
    def orders(self, api_key: str | None = None) -> list[dict[str, Any]]:
        """Copies of one account's orders (default: the first credential), oldest first.

        Pending orders are all there; of closed ones the most recent ``keep_closed``.
        Spread orders carry ``sprdId`` and ``instType`` "SPRD".
        """
        acct = self._account(api_key)

        def go() -> list[dict[str, Any]]:
            found = [*acct.normal.orders.values(), *acct.spread.orders.values()]
            found.sort(key=lambda o: int(o.ord_id))
            return [o.as_dict() for o in found]

        return self._sync(go)

    def find_order(
        self,
        *,
        ord_id: str | None = None,
        cl_ord_id: str | None = None,
        api_key: str | None = None,
    ) -> dict[str, Any] | None:
        """One order as a dict, by ``ord_id`` or ``cl_ord_id``, or None.

        Without ``api_key`` every account is searched. By ``cl_ord_id`` a pending order
        wins over closed ones, then the most recent closed one.
        """
        if ord_id is None and cl_ord_id is None:
            raise ValueError("give ord_id or cl_ord_id")

        def go() -> dict[str, Any] | None:
            o = self._locate(ord_id, cl_ord_id, api_key)
            return None if o is None else o.as_dict()

        return self._sync(go)

    def fill(self, ord_id: str, sz: str | int | float | Decimal | None = None) -> dict[str, Any]:
        """Fill a pending order in full (``sz=None``) or by ``sz`` more; returns it as a dict.

        KeyError if no such order, ValueError if it is not pending or ``sz`` is not positive.
        """

        def go() -> dict[str, Any]:
            o = self._locate(ord_id, None, None)
            if o is None:
                raise KeyError(ord_id)
            if o.state not in _PENDING:
                raise ValueError(f"order {ord_id} is {o.state}")
            total, done = Decimal(o.sz), Decimal(o.fill_sz)
            try:
                more = total - done if sz is None else Decimal(str(sz))
            except InvalidOperation:
                raise ValueError(f"bad size {sz!r}") from None
            if not more > 0:
                raise ValueError(f"fill size must be positive, not {sz!r}")
            new = min(total, done + more)
            o.fill_sz = _fmt(new)
            o.u_time = self.now_ms()
            if new >= total:
                o.book.close(o, "filled")
            else:
                o.state = "partially_filled"
            return o.as_dict()

        return self._sync(go)

    def _account(self, api_key: str | None) -> _Account:
        key = self.credentials[0].api_key if api_key is None else api_key
        try:
            return self._accounts[key]
        except KeyError:
            raise KeyError(f"no credential with api key {key!r}") from None

    def _locate(
        self, ord_id: str | None, cl_ord_id: str | None, api_key: str | None
    ) -> _Order | None:
        accounts = self._accounts.values() if api_key is None else [self._account(api_key)]
        books = [b for acct in accounts for b in (acct.normal, acct.spread)]
        if ord_id is not None:
            for b in books:
                o = b.orders.get(ord_id)
                if o is not None and (cl_ord_id is None or o.cl_ord_id == cl_ord_id):
                    return o
            return None
        for b in books:
            o = b.by_cl.get(cl_ord_id or "")
            if o is not None:
                return o
        best: _Order | None = None
        for b in books:
            o = b.last_cl.get(cl_ord_id or "")
            if o is not None and (best is None or int(o.ord_id) > int(best.ord_id)):
                best = o
        return best

    def _sync(self, fn: Callable[[], T]) -> T:
        # Mutations run on the simulator's loop so they never interleave with a request
        # half-way. The base's _on_loop defers when already on the loop, which would let
        # an async test read stale state; here the call is direct on the loop thread.
        loop = self._loop
        if loop is None or loop.is_closed() or not loop.is_running():
            return fn()
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            return fn()
        fut: concurrent.futures.Future[T] = concurrent.futures.Future()

        def call() -> None:
            try:
                fut.set_result(fn())
            except BaseException as exc:
                fut.set_exception(exc)

        loop.call_soon_threadsafe(call)
        return fut.result(10)

    # -- routes ----------------------------------------------------------------------
    def add_routes(self, app: web.Application) -> None:
        for kind in ("public", "private", "business"):
            app.router.add_get(f"/ws/v5/{kind}", self._ws_handler)
        app.router.add_get("/api/v5/public/instruments", self._rest_instruments)
        app.router.add_get("/api/v5/public/underlying", self._rest_underlying)
        app.router.add_get("/api/v5/public/time", self._rest_time)
        app.router.add_get("/api/v5/asset/currencies", self._rest_currencies)
        app.router.add_get("/api/v5/trade/order", self._rest_trade_order)
        app.router.add_get("/api/v5/sprd/order", self._rest_sprd_order)

    # -- REST ------------------------------------------------------------------------
    @staticmethod
    def _json(body: dict[str, Any], status: int = 200) -> web.Response:
        return web.Response(body=_ENC.encode(body), status=status, content_type="application/json")

    def _rest_error(self, code: str, msg: str) -> web.Response:
        return self._json({"code": code, "msg": msg, "data": []}, status=400)

    async def _rest_instruments(self, request: web.Request) -> web.Response:
        q = request.query
        inst_type = q.get("instType", "")
        if not inst_type:
            return self._rest_error("50014", "Parameter instType can not be empty")
        if inst_type not in _INST_TYPES:
            return self._rest_error("51000", "Parameter instType error")
        family = q.get("instFamily", "")
        uly = q.get("uly", "")
        if inst_type == "OPTION" and not (family or uly):
            return self._rest_error("50014", "Parameter instFamily can not be empty")
        inst_id = q.get("instId", "")
        rows = [
            dict(i.row)
            for i in self._instruments
            if i.inst_type == inst_type
            and (not family or i.row["instFamily"] == family)
            and (not uly or i.row["uly"] == uly)
            and (not inst_id or i.inst_id == inst_id)
        ]
        return self._json({"code": "0", "msg": "", "data": rows})

    async def _rest_underlying(self, request: web.Request) -> web.Response:
        inst_type = request.query.get("instType", "")
        if inst_type not in ("SWAP", "FUTURES", "OPTION"):
            return self._rest_error("51000", "Parameter instType error")
        fams = sorted({i.family for i in self._instruments if i.inst_type == inst_type})
        return self._json({"code": "0", "msg": "", "data": [fams]})

    async def _rest_time(self, request: web.Request) -> web.Response:
        return self._json({"code": "0", "msg": "", "data": [{"ts": str(self.now_ms())}]})

    async def _rest_currencies(self, request: web.Request) -> web.Response:
        # ccxt's load_markets calls this signed endpoint; an empty list satisfies it.
        return self._json({"code": "0", "msg": "", "data": []})

    # -- signed REST order lookups -------------------------------------------------------
    def _rest_auth(self, request: web.Request) -> tuple[str, str, int]:
        """Check OKX's signed-request headers: (api key, "", 0) or ("", code, HTTP status).

        The prehash is timestamp + method + path with its query string as sent + body.
        """
        h = request.headers
        key = h.get("OK-ACCESS-KEY", "")
        pw = h.get("OK-ACCESS-PASSPHRASE", "")
        sig = h.get("OK-ACCESS-SIGN", "")
        ts = h.get("OK-ACCESS-TIMESTAMP", "")
        for value, code in ((key, "50103"), (pw, "50104"), (sig, "50106"), (ts, "50107")):
            if not value:
                return "", code, 401
        when = _parse_iso_ms(ts)
        if when is None:
            return "", "50112", 401
        if abs(self.now_ms() - when) > self.login_window_s * 1000:
            return "", "50102", 401
        cred = self._creds.get(key)
        if cred is None:
            return "", "50111", 401
        if cred.region != self.region:
            return "", "50119", 401
        demo_header = h.get("x-simulated-trading", "") == "1"
        if demo_header != cred.demo or cred.demo != self.demo:
            return "", "50101", 401
        if not hmac.compare_digest(pw.encode(), cred.passphrase.encode()):
            return "", "50105", 401
        prehash = ts + request.method + request.raw_path
        mac = hmac.new(cred.api_secret.encode(), prehash.encode(), hashlib.sha256)
        want = base64.b64encode(mac.digest()).decode()
        if not hmac.compare_digest(sig.encode(), want.encode()):
            return "", "50113", 401
        return key, "", 0

    def _rest_lookup(self, request: web.Request, spread: bool) -> web.Response:
        status = self.faults.take_rest_failure()
        if status is not None:
            self._log_lookup(request, None, f"HTTP {status}")
            return web.Response(status=status, text="Service Unavailable")
        key, code, http = self._rest_auth(request)
        if code:
            self._log_lookup(request, None, code)
            return self._json({"code": code, "msg": _REST_MSG[code], "data": []}, status=http)
        lim = self._rest_limiter if self.rate_limits else None
        if lim is not None and not lim.try_take(key):
            self._log_lookup(request, key, "50011")
            return self._json({"code": "50011", "msg": _M_RATE, "data": []}, status=429)
        try:
            row = self._lookup_row(self._accounts[key], request.query, spread)
        except _Reject as r:
            self._log_lookup(request, key, r.code)
            status = 400 if r.code in ("50014", "51000") else 200
            return self._json({"code": r.code, "msg": r.msg, "data": []}, status=status)
        self._log_lookup(request, key, "0")
        return self._json({"code": "0", "msg": "", "data": [row]})

    def _lookup_row(self, acct: _Account, q: Mapping[str, str], spread: bool) -> dict[str, Any]:
        inst: _Inst | None = None
        if not spread:
            inst_id = q.get("instId", "")
            if not inst_id:
                raise _Reject("50014", "Parameter instId can not be empty")
            inst = self._by_id.get(inst_id)
            if inst is None:
                raise _Reject("51001", _M_NO_INST)
        book = acct.spread if spread else acct.normal
        oid, cl = q.get("ordId", ""), q.get("clOrdId", "")
        if oid:  # ordId wins over clOrdId, as on OKX
            if not (oid.isascii() and oid.isdigit()):
                raise _Reject("51000", "Parameter ordId error")
            o = book.orders.get(oid)
        elif cl:
            # OKX: a clOrdId used by several orders finds the newest one.
            o = book.last_cl.get(cl)
        else:
            raise _Reject("50014", _M_NO_ID)
        if o is None or (inst is not None and o.inst is not inst):
            raise _Reject("51603", _M_NO_ORDER)
        return _sprd_row(o) if spread else _order_row(o)

    def _log_lookup(self, request: web.Request, key: str | None, code: str) -> None:
        self.stats["rest_lookups"] += 1
        if self.record:
            self.lookups.append(
                {
                    "path": request.path,
                    "query": dict(request.query),
                    "account": key,
                    "code": code,
                    "ts": self.now_ms(),
                }
            )

    async def _rest_trade_order(self, request: web.Request) -> web.Response:
        return self._rest_lookup(request, spread=False)

    async def _rest_sprd_order(self, request: web.Request) -> web.Response:
        return self._rest_lookup(request, spread=True)

    # -- WebSocket -------------------------------------------------------------------
    def _now_us(self) -> int:
        return time.time_ns() // 1000 + self.clock_offset_ms * 1000

    async def _ws_handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()  # permessage-deflate when the client offers it
        await ws.prepare(request)
        loop = asyncio.get_running_loop()
        conn = _Conn(ws, request.path, secrets.token_hex(4), loop.time())
        self.track(ws)
        self._conns[ws] = conn
        conn.idle = loop.call_later(self.idle_timeout, self._idle_check, conn)
        try:
            while True:
                msg = await ws.receive()
                t = msg.type
                if t is WSMsgType.TEXT:
                    data: str = msg.data
                elif t is WSMsgType.BINARY:
                    data = bytes(msg.data).decode("utf-8", "replace")
                elif t in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    break
                else:
                    continue
                conn.last_rx = loop.time()
                try:
                    if await self._on_frame(conn, data):
                        break
                except ConnectionResetError:
                    break
        finally:
            for handle in (conn.idle, conn.notice):
                if handle is not None:
                    handle.cancel()
            self.untrack(ws)
            self._conns.pop(ws, None)
        return ws

    def _idle_check(self, conn: _Conn) -> None:
        # One timer per socket, pushed forward lazily: cheaper than a timeout per receive.
        conn.idle = None
        if conn.ws.closed:
            return
        loop = asyncio.get_running_loop()
        due = conn.last_rx + self.idle_timeout
        if loop.time() < due:
            conn.idle = loop.call_at(due, self._idle_check, conn)
            return
        self._spawn(self._close(conn, 4004, _M_IDLE))

    def _notice_close(self, conn: _Conn) -> None:
        conn.notice = None
        if not conn.ws.closed:
            self._spawn(self._close(conn, 1001, "Service upgrade"))

    async def _close(self, conn: _Conn, code: int, message: str) -> None:
        try:
            await conn.ws.close(code=code, message=message.encode())
        except ConnectionResetError:
            pass

    async def _send_obj(self, conn: _Conn, obj: dict[str, Any]) -> None:
        await _send(conn.ws, _ENC.encode(obj))

    async def _event_error(self, conn: _Conn, code: str, msg: str) -> None:
        await self._send_obj(
            conn, {"event": "error", "code": code, "msg": msg, "connId": conn.conn_id}
        )

    async def _on_frame(self, conn: _Conn, data: str) -> bool:
        """Handle one inbound frame; True when the socket is gone and the loop must stop."""
        if data == "ping":
            await conn.ws.send_str("pong")
            return False
        env: Any
        try:
            env = _DEC.decode(data)
        except msgspec.DecodeError:
            env = None
        if type(env) is not dict:
            await self._event_error(conn, "60012", f"Invalid request: {data}")
            return False
        op: Any = env.get("op")
        spec = self._ops.get(op) if type(op) is str else None
        if spec is None:
            if op == "login":
                return await self._login(conn, env, data)
            if op in ("subscribe", "unsubscribe"):
                await self._subscribe(conn, env, op, data)
                return False
            if type(op) is str and op:
                await self._event_error(conn, "60019", f"Invalid op: {op}")
            else:
                await self._event_error(conn, "60012", f"Invalid request: {data}")
            return False
        rid = env.get("id")
        if type(rid) is not str or len(rid) > 32 or not (rid.isascii() and rid.isalnum()):
            await self._event_error(conn, "60012", f"Invalid request: {data}")
            return False
        in_us = self._now_us()
        self.stats["requests"] += 1
        if self.record:
            env["_account"] = conn.account
            env["_path"] = conn.path
            self.log_request(env)

        if conn.kind != spec.kind:
            await self._send_obj(
                conn, {"id": rid, "op": op, "code": "60028", "msg": _M_WRONG_URL, "data": []}
            )
            return False
        if conn.account is None:
            if self.before_login_style == "event":
                await self._event_error(conn, "60011", "Please log in")
            else:
                await self._send_obj(
                    conn, {"id": rid, "op": op, "code": "60011", "msg": "Please log in", "data": []}
                )
            return False
        args = env.get("args")
        if type(args) is not list or not (
            (len(args) == 1 and type(args[0]) is dict)
            if spec.single
            else (0 < len(args) <= 20 and all(type(a) is dict for a in args))
        ):
            await self._send_obj(
                conn, {"id": rid, "op": op, "code": "60013", "msg": "Invalid args", "data": []}
            )
            return False

        dec = self.faults.decide(op)
        if dec.normal:
            await self._send_reply(conn.ws, self._process(conn.account, env, op, spec, args, in_us))
            return False
        if dec.drop:
            if dec.process:
                self._process(conn.account, env, op, spec, args, in_us)
            elif dec.execute_after is not None:
                asyncio.get_running_loop().call_later(
                    dec.execute_after, self._process, conn.account, env, op, spec, args, in_us
                )
            _abort(conn.ws)
            return True
        reply = self._process(conn.account, env, op, spec, args, in_us)
        if dec.reply:
            self._spawn(self._send_later(conn.ws, reply, dec.delay))
        return False

    async def _send_reply(self, ws: web.WebSocketResponse, reply: dict[str, Any]) -> None:
        if "inTime" in reply:
            reply["outTime"] = str(self._now_us())
        await _send(ws, _ENC.encode(reply))

    async def _send_later(
        self, ws: web.WebSocketResponse, reply: dict[str, Any], delay: float
    ) -> None:
        await asyncio.sleep(delay)
        if ws.closed:
            return
        try:
            await self._send_reply(ws, reply)
        except ConnectionResetError:
            pass

    async def _subscribe(self, conn: _Conn, env: dict[str, Any], op: str, data: str) -> None:
        # Subscriptions are acknowledged but no channel pushes data: the simulator models
        # order entry, and clients such as ccxt subscribe before trading.
        args = env.get("args")
        if type(args) is not list or not args or any(type(a) is not dict for a in args):
            await self._event_error(conn, "60012", f"Invalid request: {data}")
            return
        if conn.kind == "private" and conn.account is None:
            await self._event_error(conn, "60011", "Please log in")
            return
        rid = env.get("id")
        for a in args:
            ack: dict[str, Any] = {"id": rid} if type(rid) is str else {}
            ack.update(event=op, arg=a, connId=conn.conn_id)
            await self._send_obj(conn, ack)

    # -- login -----------------------------------------------------------------------
    async def _login(self, conn: _Conn, env: dict[str, Any], data: str) -> bool:
        rid = env.get("id")
        head: dict[str, Any] = {"id": rid} if type(rid) is str else {}
        code, text = self._check_login(conn, env.get("args"), data)
        if code == "0":
            self.stats["logins_ok"] += 1
            await self._send_obj(
                conn, {**head, "event": "login", "code": "0", "msg": "", "connId": conn.conn_id}
            )
            return False
        self.stats["logins_failed"] += 1
        await self._send_obj(
            conn, {**head, "event": "error", "code": code, "msg": text, "connId": conn.conn_id}
        )
        if self.close_on_login_failure:
            await self._close(conn, 4001, "Login Failed")
            return True
        return False

    def _check_login(self, conn: _Conn, args: Any, data: str) -> tuple[str, str]:
        """("0", "") and the socket logged in, or an OKX error code and text."""
        rejected, forced = self.faults.take_login_rejection()
        if rejected:
            code = forced or "60009"
            return code, _LOGIN_MSG.get(code, "Login failed.")
        if self.reject_relogin and conn.account is not None:
            return "60031", _LOGIN_MSG["60031"]
        if type(args) is not list or not args or any(type(a) is not dict for a in args):
            return "60012", f"Invalid request: {data}"
        now_s = self.now_ms() / 1000
        for a in args:
            for name in ("apiKey", "passphrase", "timestamp", "sign"):
                if not _present(a.get(name)):
                    return "60027", f"Parameter {name} can not be empty"
            ts = a["timestamp"]
            # The signature covers the timestamp exactly as the client wrote it.
            if type(ts) is str:
                text = ts if _TS.fullmatch(ts) else ""
            elif type(ts) is int:
                text = str(ts)
            elif type(ts) is float and math.isfinite(ts) and ts >= 0:
                text = repr(ts)
            else:
                text = ""
            if not text:
                return "60004", _LOGIN_MSG["60004"]
            if abs(now_s - float(text)) > self.login_window_s:
                return "60006", _LOGIN_MSG["60006"]
            key = a["apiKey"]
            cred = self._creds.get(key) if type(key) is str else None
            if cred is None:
                return "60005", _LOGIN_MSG["60005"]
            if cred.region != self.region:
                return "60032", _LOGIN_MSG["60032"]
            if cred.demo != self.demo:
                return "50101", _LOGIN_MSG["50101"]
            pw = a["passphrase"]
            if type(pw) is not str or not hmac.compare_digest(
                pw.encode(), cred.passphrase.encode()
            ):
                return "60024", _LOGIN_MSG["60024"]
            sign = a["sign"]
            want = _sign(cred.api_secret, text)
            if type(sign) is not str or not hmac.compare_digest(sign.encode(), want.encode()):
                return "60007", _LOGIN_MSG["60007"]
        conn.account = args[0]["apiKey"]
        return "0", ""

    # -- trading ---------------------------------------------------------------------
    def _process(
        self,
        acct_key: str,
        env: dict[str, Any],
        op: str,
        spec: _OpSpec,
        args: list[dict[str, Any]],
        in_us: int,
    ) -> dict[str, Any]:
        """Apply one request to the book; the reply without ``outTime`` (set when sent)."""
        acct = self._accounts[acct_key]
        rid = env["id"]
        t_in = str(in_us) if spec.times or self.sprd_times else None
        now = self.now_ms()
        lim = spec.limiter if self.rate_limits else None

        whole = spec.whole
        if whole is not None:
            if lim is not None and not lim.try_take(acct_key):
                return _top(rid, op, "50011", _M_RATE, t_in)
            try:
                whole(acct_key, acct, args[0], now)
            except _Reject as r:
                return _top(rid, op, r.code, r.msg, t_in)
            return _reply(rid, op, "0", [{"result": True}], t_in)

        fail = spec.fail
        run = spec.run
        assert fail is not None and run is not None
        if spec.exp:
            exp = env.get("expTime")
            if _present(exp):
                if type(exp) is int or (type(exp) is str and exp.isascii() and exp.isdigit()):
                    if int(exp) < now:
                        return _reply(
                            rid, op, "1", [fail(a, now, "50036", _M_EXP) for a in args], t_in
                        )
                else:
                    items = [fail(a, now, "51000", "Parameter expTime error") for a in args]
                    return _reply(rid, op, "1", items, t_in)

        allowed: list[bool] | None = None
        if lim is not None:
            if spec.per_inst:
                keys: list[Any] = [(acct_key, self._inst_key(a)) for a in args]
            else:
                keys = [acct_key] * len(args)
            if self.rate_limit_style == "top":
                need = collections.Counter(keys)
                if any(lim.remaining(k) < n for k, n in need.items()):
                    return _top(rid, op, "50011", _M_RATE, t_in)
                for k in keys:
                    lim.try_take(k)
            else:
                allowed = [lim.try_take(k) for k in keys]

        if allowed is None and len(args) == 1:  # the hot path: one item, no limiter verdicts
            a = args[0]
            try:
                item = run(acct_key, acct, a, now, None)
                code = "0"
            except _Reject as r:
                item = fail(a, now, r.code, r.msg)
                code = "1"
            return _reply(rid, op, code, [item], t_in)

        batch_cl: set[str] | None = set() if len(args) > 1 else None
        items = []
        ok = 0
        for i, a in enumerate(args):
            if allowed is not None and not allowed[i]:
                items.append(fail(a, now, "50011", _M_RATE))
                continue
            try:
                items.append(run(acct_key, acct, a, now, batch_cl))
                ok += 1
            except _Reject as r:
                items.append(fail(a, now, r.code, r.msg))
        code = "0" if ok == len(items) else ("1" if ok == 0 else "2")
        return _reply(rid, op, code, items, t_in)

    def _resolve(self, a: dict[str, Any]) -> _Inst:
        c = a.get("instIdCode")
        if c is not None and c != "":  # instIdCode wins over instId
            if type(c) is int:
                inst = self._by_code.get(c)
            elif type(c) is str and c.isascii() and c.isdigit():
                inst = self._by_code.get(int(c))
            else:
                raise _Reject("51000", "Parameter instIdCode error")
            if inst is None:
                raise _Reject("51001", _M_NO_INST)
            return inst
        if self.require_inst_id_code:
            raise _Reject("50014", "Parameter instIdCode can not be empty")
        i = a.get("instId")
        if i is None or i == "":
            raise _Reject("50014", "Parameter instIdCode can not be empty")
        inst = self._by_id.get(i) if type(i) is str else None
        if inst is None:
            raise _Reject("51001", _M_NO_INST)
        return inst

    def _inst_key(self, a: dict[str, Any]) -> str | None:
        try:
            return self._resolve(a).inst_id
        except _Reject:
            return None

    @staticmethod
    def _target(book: _Book, a: dict[str, Any]) -> _Order | None:
        oid: Any = a.get("ordId")
        if _present(oid):  # ordId wins over clOrdId
            if type(oid) is int:
                oid = str(oid)
            return book.orders.get(oid) if type(oid) is str else None
        cl = a.get("clOrdId")
        if _present(cl):
            return book.by_cl.get(cl) if type(cl) is str else None
        raise _Reject("50014", _M_NO_ID)

    def _place(
        self, acct_key: str, acct: _Account, a: dict[str, Any], now: int, batch_cl: set[str] | None
    ) -> dict[str, Any]:
        inst = self._resolve(a)
        g = a.get
        td: Any = g("tdMode")
        side: Any = g("side")
        ot: Any = g("ordType")
        sz: Any = g("sz")
        # Fast path for a valid order: canonical strings (one shared object per value keeps
        # a million resting orders smaller); otherwise the validators name the bad field.
        try:
            td, side, ot = _CANON[td], _CANON[side], _CANON[ot]
            common = td in _TD_MODES and side in _SIDES and ot in _ORDER_TYPES
        except (KeyError, TypeError):  # unknown or unhashable
            common = False
        if not common:
            td = _enum(a, "tdMode", _TD_MODES)
            side = _enum(a, "side", _SIDES)
            ot = _enum(a, "ordType", _ORDER_TYPES)
        if not _is_pos(sz):
            _size(a, "sz")
        px = ""
        if ot in _PX_TYPES:
            v: Any = g("px")
            if _present(v):
                if not _is_pos(v):
                    raise _Reject("51000", "Parameter px error")
                px = v
            elif not (
                inst.inst_type == "OPTION"
                and (_present(a.get("pxUsd")) or _present(a.get("pxVol")))
            ):
                raise _Reject("50014", "Parameter px can not be empty")
        pos = g("posSide")
        if pos is not None and pos != "" and (type(pos) is not str or pos not in _POS_SIDES):
            raise _Reject("51000", "Parameter posSide error")
        cl = g("clOrdId")
        if cl is None or cl == "":
            cl = ""
        elif type(cl) is not str or len(cl) > 32 or not (cl.isascii() and cl.isalnum()):
            raise _Reject("51000", "Parameter clOrdId error")
        tag = g("tag")
        if tag is None or tag == "":
            tag = ""
        elif type(tag) is not str or len(tag) > 16 or not (tag.isascii() and tag.isalnum()):
            raise _Reject("51000", "Parameter tag error")
        if self._locks and inst.inst_type == "OPTION":
            until = self._locks.get((acct_key, inst.family))
            if until is not None and now < until:
                raise _Reject("54008", _M_LOCK)
        book = acct.normal
        if cl:
            if cl in book.by_cl or (batch_cl is not None and cl in batch_cl):
                raise _Reject("51016", _M_DUP)
            if batch_cl is not None:
                batch_cl.add(cl)
        oid = str(next(self._ids))
        o = _Order(
            book, oid, cl, inst, "", side, ot, td, px, sz, ot in _IMMEDIATE, tag, now, pos or ""
        )
        book.add(o)
        return {
            "ordId": oid,
            "clOrdId": cl,
            "tag": tag,
            "ts": str(now),
            "sCode": "0",
            "sMsg": _M_PLACED,
            "subCode": "",
        }

    def _cancel(
        self, acct_key: str, acct: _Account, a: dict[str, Any], now: int, batch_cl: set[str] | None
    ) -> dict[str, Any]:
        inst = self._resolve(a)
        book = acct.normal
        o = self._target(book, a)
        if o is None or o.inst is not inst or o.state not in _PENDING:
            raise _Reject("51400", _M_CXL)
        o.u_time = now
        book.close(o, "canceled")
        return {
            "ordId": o.ord_id,
            "clOrdId": o.cl_ord_id,
            "ts": str(o.c_time),
            "sCode": "0",
            "sMsg": _M_CANCELED,
            "subCode": "",
        }

    @staticmethod
    def _amend_args(a: dict[str, Any], px_ok: Callable[[Any], bool]) -> tuple[str, str, str]:
        new_sz: Any = a.get("newSz")
        new_px: Any = a.get("newPx")
        has_sz, has_px = _present(new_sz), _present(new_px)
        if not has_sz and not has_px:
            raise _Reject("50014", "Parameter newSz or newPx can not be empty")
        if has_sz and not _is_pos(new_sz):
            raise _Reject("51000", "Parameter newSz error")
        if has_px and not px_ok(new_px):
            raise _Reject("51000", "Parameter newPx error")
        req = _alnum(a, "reqId", 32)
        return (new_sz if has_sz else ""), (new_px if has_px else ""), req

    @staticmethod
    def _apply_amend(o: _Order, new_sz: str, new_px: str, now: int) -> None:
        if new_px:
            o.px = new_px
        if new_sz:
            if Decimal(new_sz) <= Decimal(o.fill_sz):
                # OKX: an amended size at or below the filled size completes the order.
                o.sz = o.fill_sz
                o.book.close(o, "filled")
            else:
                o.sz = new_sz
        o.u_time = now

    def _amend(
        self, acct_key: str, acct: _Account, a: dict[str, Any], now: int, batch_cl: set[str] | None
    ) -> dict[str, Any]:
        inst = self._resolve(a)
        o = self._target(acct.normal, a)
        new_sz, new_px, req = self._amend_args(a, _is_pos)
        if o is None or o.inst is not inst or o.state not in _PENDING:
            raise _Reject("51503", _M_AMD)
        self._apply_amend(o, new_sz, new_px, now)
        return {
            "ordId": o.ord_id,
            "clOrdId": o.cl_ord_id,
            "ts": str(o.c_time),
            "reqId": req,
            "sCode": "0",
            "sMsg": _M_AMENDED,
            "subCode": "",
        }

    def _mass_cancel(self, acct_key: str, acct: _Account, a: dict[str, Any], now: int) -> None:
        inst_type = a.get("instType")
        if not _present(inst_type):
            raise _Reject("50014", "Parameter instType can not be empty")
        if inst_type != "OPTION":
            raise _Reject("51000", "Parameter instType error")
        family = a.get("instFamily")
        if not _present(family):
            raise _Reject("50014", "Parameter instFamily can not be empty")
        if type(family) is not str:
            raise _Reject("51000", "Parameter instFamily error")
        raw = a.get("lockInterval")
        if not _present(raw):
            lock = 0
        elif type(raw) is int or (type(raw) is str and raw.isascii() and raw.isdigit()):
            lock = int(raw)
        else:
            lock = -1
        if not 0 <= lock <= 10_000:
            raise _Reject("51000", "Parameter lockInterval error")
        book = acct.normal
        for o in list(book.live.values()):
            inst = o.inst
            if inst is not None and inst.inst_type == "OPTION" and inst.family == family:
                o.u_time = now
                book.close(o, "canceled")
        if lock:
            self._locks[(acct_key, family)] = now + lock
        else:
            self._locks.pop((acct_key, family), None)

    # -- spread trading ----------------------------------------------------------------
    def _sprd_id(self, a: dict[str, Any]) -> str:
        sid = a.get("sprdId")
        if not _present(sid):
            raise _Reject("50014", "Parameter sprdId can not be empty")
        if type(sid) is not str or sid not in self._spreads:
            raise _Reject("51001", _M_NO_INST)
        return sid

    def _sprd_place(
        self, acct_key: str, acct: _Account, a: dict[str, Any], now: int, batch_cl: set[str] | None
    ) -> dict[str, Any]:
        sid = self._sprd_id(a)
        side = _enum(a, "side", _SIDES)
        ot = _enum(a, "ordType", _SPRD_TYPES)
        sz = _size(a, "sz")
        px = ""
        if ot != "market":
            v = a.get("px")
            if not _present(v):
                raise _Reject("50014", "Parameter px can not be empty")
            if type(v) is not str or not _SIGNED_DEC.fullmatch(v):
                raise _Reject("51000", "Parameter px error")
            px = v
        cl = _alnum(a, "clOrdId", 32)
        tag = _alnum(a, "tag", 16)
        book = acct.spread
        if cl and cl in book.by_cl:
            raise _Reject("51016", _M_DUP)
        oid = str(next(self._ids))
        book.add(
            _Order(book, oid, cl, None, sid, side, ot, "", px, sz, ot in _SPRD_IMMEDIATE, tag, now)
        )
        return {"ordId": oid, "clOrdId": cl, "tag": tag, "sCode": "0", "sMsg": _M_PLACED}

    def _sprd_amend(
        self, acct_key: str, acct: _Account, a: dict[str, Any], now: int, batch_cl: set[str] | None
    ) -> dict[str, Any]:
        o = self._target(acct.spread, a)
        new_sz, new_px, req = self._amend_args(
            a, lambda v: type(v) is str and _SIGNED_DEC.fullmatch(v) is not None
        )
        if o is None or o.state not in _PENDING:
            raise _Reject("51503", _M_AMD)
        self._apply_amend(o, new_sz, new_px, now)
        return {
            "ordId": o.ord_id,
            "clOrdId": o.cl_ord_id,
            "reqId": req,
            "sCode": "0",
            "sMsg": _M_AMENDED,
        }

    def _sprd_cancel(
        self, acct_key: str, acct: _Account, a: dict[str, Any], now: int, batch_cl: set[str] | None
    ) -> dict[str, Any]:
        book = acct.spread
        o = self._target(book, a)
        if o is None or o.state not in _PENDING:
            raise _Reject("51400", _M_CXL)
        o.u_time = now
        book.close(o, "canceled")
        return {"ordId": o.ord_id, "clOrdId": o.cl_ord_id, "sCode": "0", "sMsg": _M_CANCELED}

    def _sprd_mass_cancel(self, acct_key: str, acct: _Account, a: dict[str, Any], now: int) -> None:
        sid = a.get("sprdId")
        if _present(sid) and (type(sid) is not str or sid not in self._spreads):
            raise _Reject("51001", _M_NO_INST)
        book = acct.spread
        for o in list(book.live.values()):
            if not sid or o.sprd_id == sid:
                o.u_time = now
                book.close(o, "canceled")

    # -- notice ----------------------------------------------------------------------
    def notice_frames(self, conn_id: str = "00000000") -> list[str]:
        """The 64008 service-upgrade notice (one JSON text frame)."""
        frame = {"event": "notice", "code": "64008", "msg": _M_NOTICE, "connId": conn_id}
        return [_ENC.encode(frame).decode()]

    def send_notice(self) -> None:
        """Send the 64008 notice to every socket; each is closed (1001) after ``notice_grace``.

        Requests are still answered during the grace period, as on OKX.
        """

        async def go() -> None:
            loop = asyncio.get_running_loop()
            for conn in list(self._conns.values()):
                if conn.ws.closed:
                    continue
                try:
                    for f in self.notice_frames(conn.conn_id):
                        await conn.ws.send_str(f)
                except ConnectionResetError:
                    continue
                if conn.notice is None:
                    conn.notice = loop.call_later(self.notice_grace, self._notice_close, conn)

        self._on_loop(go)


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

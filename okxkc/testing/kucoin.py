"""A simulated KuCoin WebSocket trading server ("WS API", ``/v1/private``) on loopback.

It follows ``protocol/kucoin.md``: URL-signed login, the session challenge,
ping/pong and idle close, the eleven trading ops with KuCoin's envelopes and
error codes, REST-style resource-pool rate limits, an in-memory order book per
account and market, and fault injection. Any KuCoin WS API client (okxkc, the
official SDK's trade socket, a raw aiohttp script) can trade against it unchanged.

Facts the protocol notes mark UNVERIFIED are constructor switches or module
constants, so a test can follow KuCoin if the live server turns out different.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import hashlib
import hmac
import itertools
import os
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import unquote

import msgspec
from aiohttp import WSMsgType, web

from ._server import RollingLimiter, SimulatedExchange, _abort

__all__ = [
    "ALL_OPS",
    "DEFAULT_SYMBOLS",
    "KucoinCredential",
    "KucoinSimulator",
]

T = TypeVar("T")

# --- wire constants ------------------------------------------------------------------

OK = "200000"
PARAM_ERROR = "400100"
RATE_LIMITED = "429000"

# Close codes. KuCoin documents none of them (UNVERIFIED); 1008 "policy violation"
# is what a gateway typically uses after refusing credentials.
AUTH_CLOSE_CODE = 1008
IDLE_CLOSE_CODE = 1000
EXPIRE_CLOSE_CODE = 1001

AUTH_MESSAGES: dict[str, str] = {
    "400001": "Please check the parameters of your request: apikey, timestamp, sign and passphrase are required.",
    "400002": "Invalid KC-API-TIMESTAMP",
    "400003": "KC-API-KEY not exists.",
    "400004": "Invalid KC-API-PASSPHRASE",
    "400005": "Invalid KC-API-SIGN",
    "400011": "Session verification failed",
    "400012": "Session verification has timed out",
    # Wording for the broker codes is ours (UNVERIFIED); KuCoin only names the cases.
    "400200": "Invalid KC-API-PARTNER",
    "400201": "Invalid KC-API-PARTNER-SIGN",
}
DEFAULT_LOGIN_REJECTION = "400005"

MSG_INVALID_JSON = "Please check the param of your request: invalid json"
MSG_NOT_OBJECT = (
    "Please check the param of your request: invalid json, a request must be a JSON object"
)
MSG_BAD_ID = "Please check the param of your request: Field 'id' must be a non-empty string."
BAD_ID_CODE = "4001002"
MSG_INVALID_OP = "Invalid op: {op}"
MSG_TOO_MANY = "Too Many Requests"
# Observed on the live WS API (protocol/kucoin.md §2.5).
ID_REQUIRED = ("400102", "Please check the param of your request: clientOid or orderId is required")

# Business-error wording the docs do not give (UNVERIFIED); one constant each so a
# test (or a user) can match them, and so they change in one place.
MSG_REQUIRED = "Parameter error: {field} is required"
MSG_INVALID = "Parameter error: {field} is invalid"
MSG_ENUM = "Parameter error: {field} must be one of {allowed}"
MSG_UNKNOWN_SYMBOL = "Parameter error: symbol {symbol} does not exist"
MSG_BAD_CLIENT_OID = "Parameter error: clientOid may only contain letters, digits, '_' and '-', at most 40 characters"
MSG_DUPLICATE_CLIENT_OID = "The clientOid is duplicated"
MSG_BOTH_IDS = "Parameter error: only one of orderId and clientOid may be given"
MSG_ORDER_NOT_FOUND = "order_not_exist_or_not_allow_to_cancel"
ORDER_NOT_FOUND = (PARAM_ERROR, MSG_ORDER_NOT_FOUND)
# allowMaxTimeWindow: the docs only say the order "fails" when it arrives too late.
ORDER_EXPIRED = (
    PARAM_ERROR,
    "Order expired: clientTimestamp + allowMaxTimeWindow is earlier than the server time",
)
# REST order look-ups (issue: definite outcomes). KuCoin documents no "not found" code
# for them; these are the forms clients meet in practice (UNVERIFIED, hence the
# ``rest_not_found`` switch): spot/margin HF "400100 order not exist.", futures
# "100001 ...orderNotExist", both with HTTP 200 (KuCoin answers business errors so).
REST_NOT_FOUND: dict[str, tuple[str, str]] = {
    "spot": (PARAM_ERROR, "order not exist."),
    "margin": (PARAM_ERROR, "order not exist."),
    "futures": ("100001", "error.getOrder.orderNotExist"),
}
REST_NOT_FOUND_FORMS = ("error", "null", "empty")
# Signed REST requests that fail authentication are answered with HTTP 401.
REST_AUTH_STATUS = 401
REST_AUTH_MESSAGES: dict[str, str] = {
    **AUTH_MESSAGES,
    "400001": (
        "Please check the header of your request for KC-API-KEY, KC-API-SIGN, "
        "KC-API-TIMESTAMP, KC-API-PASSPHRASE"
    ),
    "400008": "V1 & V2 API keys are no longer supported, please create a V3 API key",
    "400009": "Invalid KC-API-KEY-VERSION",
}
MSG_REST_UNAVAILABLE = "Service unavailable (simulated)"
MSG_BATCH_TOO_LARGE = "Parameter error: a batch holds at most {max} orders"
MAX_BATCH = 20

# REST resource-pool weights of each op's REST twin (protocol/kucoin.md §2.8).
_POOL_OF: dict[str, tuple[str, int]] = {
    "spot.order": ("spot", 1),
    "spot.modify": ("spot", 1),
    "spot.cancel": ("spot", 1),
    "spot.sync_order": ("spot", 1),
    "spot.sync_cancel": ("spot", 1),
    "margin.order": ("spot", 2),
    "margin.cancel": ("spot", 2),
    "futures.order": ("futures", 2),
    "futures.cancel": ("futures", 1),
    "futures.multi_order": ("futures", 20),
    "futures.multi_cancel": ("futures", 20),
}
ALL_OPS: tuple[str, ...] = tuple(_POOL_OF)

MARKETS = ("spot", "margin", "futures")
DEFAULT_SYMBOLS: Mapping[str, Sequence[str]] = {
    "spot": ("BTC-USDT", "ETH-USDT"),
    "margin": ("BTC-USDT", "ETH-USDT"),
    "futures": ("XBTUSDTM", "ETHUSDTM"),
}

_SIDES = ("buy", "sell")
_TYPES = ("limit", "market")
_SPOT_TIF = ("GTC", "GTT", "IOC", "FOK")
# RPI appears in the Node SDK's types only; it rests like GTC here.
_FUTURES_TIF = ("GTC", "IOC", "RPI")
_SPOT_STP = ("DC", "CO", "CN", "CB")
_FUTURES_STP = ("CN", "CO", "CB")
_CLIENT_OID = re.compile(r"[A-Za-z0-9_-]{1,40}\Z")
_ZERO = Decimal(0)

# Sending the encoder's bytes as a text frame skips a decode/encode round trip.
_HAS_SEND_FRAME = hasattr(web.WebSocketResponse, "send_frame")
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


@dataclass(frozen=True)
class KucoinCredential:
    """One API key the simulator accepts. ``repr`` hides the secret and passphrase."""

    api_key: str
    api_secret: str
    passphrase: str

    def __repr__(self) -> str:
        return f"KucoinCredential(api_key={self.api_key!r}, api_secret='***', passphrase='***')"


DEFAULT_CREDENTIAL = KucoinCredential("okxkc-test-key", "okxkc-test-secret", "okxkc-test-pass")


def _b64_hmac(key: bytes, msg: str) -> str:
    return base64.b64encode(hmac.new(key, msg.encode(), hashlib.sha256).digest()).decode()


class _OpError(Exception):
    def __init__(self, code: str, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


class _Order:
    __slots__ = (
        "account",
        "args",
        "canceled",
        "client_oid",
        "created",
        "deal",
        "funds",
        "market",
        "match_time",
        "order_id",
        "price",
        "seq",
        "side",
        "size",
        "size_field",
        "status",
        "symbol",
        "tif",
        "type",
        "updated",
    )

    def __init__(
        self,
        account: str,
        market: str,
        order_id: str,
        seq: int,
        client_oid: str,
        symbol: str,
        side: str,
        type_: str,
        price: str | None,
        size: str | None,
        size_field: str,
        funds: str | None,
        tif: str,
        now: int,
        args: dict[str, Any],
    ) -> None:
        self.account = account
        # The request as sent (not copied): the REST view reads its optional fields.
        self.args = args
        self.market = market
        self.order_id = order_id
        self.seq = seq
        self.client_oid = client_oid
        self.symbol = symbol
        self.side = side
        self.type = type_
        self.price = price
        self.size = size
        self.size_field = size_field
        self.funds = funds
        self.tif = tif
        self.created = now
        self.match_time = now
        self.updated = now
        self.deal = "0"
        self.canceled = "0"
        self.status = "open"

    def remaining(self) -> Decimal:
        if self.status != "open" or self.size is None:
            return _ZERO
        return Decimal(self.size) - Decimal(self.deal)

    def to_dict(self) -> dict[str, Any]:
        return {
            "orderId": self.order_id,
            "clientOid": self.client_oid,
            "apiKey": self.account,
            "market": self.market,
            "symbol": self.symbol,
            "side": self.side,
            "type": self.type,
            "price": self.price,
            self.size_field: self.size,
            "funds": self.funds,
            "timeInForce": self.tif,
            "status": self.status,
            "dealSize": self.deal,
            "remainSize": _fmt(self.remaining()),
            "canceledSize": self.canceled,
            "orderTime": self.created,
            "matchTime": self.match_time,
        }


def _fmt(d: Decimal) -> str:
    if d == 0:
        return "0"
    s = format(d, "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


def _flag(args: dict[str, Any], field: str) -> bool:
    return args.get(field) is True


def _text(args: dict[str, Any], field: str, default: str = "") -> str:
    v = args.get(field)
    return default if v is None or v == "" else str(v)


def _spot_view(o: _Order) -> dict[str, Any]:
    """A spot or margin HF order as KuCoin's REST "get order" answers it (see
    docs/simulators.md for the sources); fees and funds are not simulated ("0")."""
    a = o.args
    open_ = o.status == "open"
    deal = Decimal(o.deal)
    price = Decimal(o.price) if o.price else _ZERO
    # A market order by funds fills its funds in full.
    by_funds = o.funds is not None and not open_ and deal == 0
    deal_funds = o.funds if by_funds and o.funds else _fmt(deal * price)
    canceled = Decimal(o.canceled)
    if o.market == "spot":
        trade_type = "TRADE"
    else:
        trade_type = "MARGIN_ISOLATED_TRADE" if _flag(a, "isIsolated") else "MARGIN_TRADE"
    return {
        "id": o.order_id,
        "clientOid": o.client_oid,
        "symbol": o.symbol,
        "opType": "DEAL",
        "type": o.type,
        "side": o.side,
        "price": o.price or "0",
        "size": o.size or "0",
        "funds": o.funds or "0",
        "dealFunds": deal_funds,
        "dealSize": o.deal,
        "fee": "0",
        "feeCurrency": o.symbol.rpartition("-")[2],
        "stp": _text(a, "stp"),
        "timeInForce": o.tif,
        "postOnly": _flag(a, "postOnly"),
        "hidden": _flag(a, "hidden"),
        "iceberg": _flag(a, "iceberg"),
        "visibleSize": _text(a, "visibleSize", "0"),
        "cancelAfter": int(a.get("cancelAfter") or 0),
        "channel": "API",
        "remark": _text(a, "remark"),
        "tags": _text(a, "tags"),
        "active": open_,
        "inOrderBook": open_,
        "cancelExist": canceled > 0,
        "createdAt": o.created,
        "lastUpdatedAt": o.updated,
        "tradeType": trade_type,
        "cancelledSize": o.canceled,
        "cancelledFunds": _fmt(canceled * price),
        "remainSize": _fmt(o.remaining()),
        "remainFunds": _fmt(o.remaining() * price),
    }


def _lots(v: str | None) -> int | str | None:
    """Futures sizes are integers of lots on KuCoin; a qty/valueQty order keeps its text."""
    if v is None:
        return None
    d = Decimal(v)
    return int(d) if d == d.to_integral_value() else v


def _futures_view(o: _Order) -> dict[str, Any]:
    """A futures order as KuCoin's REST "get order" answers it (docs/simulators.md)."""
    a = o.args
    open_ = o.status == "open"
    price = Decimal(o.price) if o.price else _ZERO
    size = Decimal(o.size) if o.size else _ZERO
    deal = Decimal(o.deal)
    sym = o.symbol
    settle = "USDT" if sym.endswith("USDTM") else "USDC" if sym.endswith("USDCM") else sym[:3]
    return {
        "id": o.order_id,
        "symbol": sym,
        "type": o.type,
        "side": o.side,
        "price": o.price,
        "size": _lots(o.size),
        "value": _fmt(size * price),
        "dealValue": _fmt(deal * price),
        "dealSize": _lots(o.deal),
        "stp": _text(a, "stp"),
        "stop": _text(a, "stop"),
        "stopPriceType": _text(a, "stopPriceType"),
        "stopTriggered": False,
        "stopPrice": a.get("stopPrice"),
        "timeInForce": o.tif,
        "postOnly": _flag(a, "postOnly"),
        "hidden": _flag(a, "hidden"),
        "iceberg": _flag(a, "iceberg"),
        "leverage": _text(a, "leverage"),
        "forceHold": _flag(a, "forceHold"),
        "closeOrder": _flag(a, "closeOrder"),
        "visibleSize": _lots(_text(a, "visibleSize") or None),
        "clientOid": o.client_oid,
        "remark": a.get("remark"),
        "tags": a.get("tags"),
        "isActive": open_,
        "cancelExist": Decimal(o.canceled) > 0,
        "createdAt": o.created,
        "updatedAt": o.updated,
        "endAt": None if open_ else o.updated,
        "orderTime": o.created * 1_000_000,
        "settleCurrency": settle,
        "marginMode": _text(a, "marginMode", "ISOLATED"),
        "avgDealPrice": o.price if deal > 0 and o.price else "0",
        "filledSize": _lots(o.deal),
        "filledValue": _fmt(deal * price),
        "status": o.status,
        "reduceOnly": _flag(a, "reduceOnly"),
    }


class _Account:
    __slots__ = ("by_client_oid", "closed", "cred", "open", "passphrase_sign", "secret")

    def __init__(self, cred: KucoinCredential, keep_closed: int) -> None:
        self.cred = cred
        self.secret = cred.api_secret.encode()
        self.passphrase_sign = _b64_hmac(self.secret, cred.passphrase)
        # market -> orderId -> open order; market -> clientOid -> open order
        self.open: dict[str, dict[str, _Order]] = {m: {} for m in MARKETS}
        self.by_client_oid: dict[str, dict[str, _Order]] = {m: {} for m in MARKETS}
        # Closed orders are kept for look-ups, but bounded: a benchmark may close millions.
        self.closed: collections.deque[_Order] = collections.deque(maxlen=keep_closed)


class _Conn:
    __slots__ = ("acct", "last_rx", "ns", "session_id", "timer", "ws")

    def __init__(self, ws: web.WebSocketResponse, acct: _Account, ns: bool) -> None:
        self.ws = ws
        self.acct = acct
        self.ns = ns
        self.session_id = ""
        self.last_rx = 0.0
        self.timer: asyncio.TimerHandle | None = None


# --- argument checks --------------------------------------------------------------------


def _missing(field: str) -> _OpError:
    return _OpError(PARAM_ERROR, MSG_REQUIRED.format(field=field))


def _invalid(field: str) -> _OpError:
    return _OpError(PARAM_ERROR, MSG_INVALID.format(field=field))


def _args_obj(args: Any) -> dict[str, Any]:
    if not isinstance(args, dict):
        raise _OpError(PARAM_ERROR, MSG_INVALID.format(field="args"))
    return args


def _str(args: dict[str, Any], field: str, required: bool = False) -> str | None:
    v = args.get(field)
    if v is None or v == "":
        if required:
            raise _missing(field)
        return None
    if not isinstance(v, str):
        raise _invalid(field)
    return v


def _enum(
    args: dict[str, Any], field: str, allowed: tuple[str, ...], default: str | None = None
) -> str:
    v = args.get(field)
    if v is None or v == "":
        if default is None:
            raise _missing(field)
        return default
    if v not in allowed:
        raise _OpError(PARAM_ERROR, MSG_ENUM.format(field=field, allowed=", ".join(allowed)))
    return str(v)


def _opt_enum(args: dict[str, Any], field: str, allowed: tuple[str, ...]) -> None:
    v = args.get(field)
    if v is not None and v != "" and v not in allowed:
        raise _OpError(PARAM_ERROR, MSG_ENUM.format(field=field, allowed=", ".join(allowed)))


def _num(args: dict[str, Any], field: str, *, integer: bool = False) -> str | None:
    """A positive number sent as a string (KuCoin's way) or a JSON number; None if absent."""
    v = args.get(field)
    if v is None or v == "":
        return None
    if isinstance(v, str):
        # Plain decimal notation only ("1e5", "nan", " 1" are refused), and not zero.
        digits = v.replace(".", "", 1)
        if not (digits.isascii() and digits.isdigit()) or not v.strip("0."):
            raise _invalid(field)
        if integer and "." in v:
            raise _invalid(field)
        return v
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
        raise _invalid(field)
    if isinstance(v, float):
        if integer and not v.is_integer():
            raise _invalid(field)
        return _fmt(Decimal(repr(v)))
    return str(v)


def _bool(args: dict[str, Any], field: str) -> bool:
    v = args.get(field)
    if v is None:
        return False
    if not isinstance(v, bool):
        raise _invalid(field)
    return v


def _int(args: dict[str, Any], field: str) -> int | None:
    v = args.get(field)
    if v is None or v == "":
        return None
    if isinstance(v, str) and v.lstrip("-").isdigit():
        return int(v)
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    raise _invalid(field)


def _max_len(args: dict[str, Any], field: str, limit: int) -> None:
    v = args.get(field)
    if v is not None and (not isinstance(v, str) or len(v) > limit):
        raise _invalid(field)


def _client_oid(args: dict[str, Any], required: bool) -> str:
    v = args.get("clientOid")
    if v is None or v == "":
        if required:
            raise _missing("clientOid")
        return ""
    if not isinstance(v, str) or _CLIENT_OID.match(v) is None:
        raise _OpError(PARAM_ERROR, MSG_BAD_CLIENT_OID)
    return v


_Check = Callable[[dict[str, Any], str], object]


def _enum_check(allowed: tuple[str, ...]) -> _Check:
    return lambda args, field: _opt_enum(args, field, allowed)


def _len_check(limit: int) -> _Check:
    return lambda args, field: _max_len(args, field, limit)


# Optional fields, checked only when present: most requests carry few of them, and
# looking each one up on every order is measurable at a million orders.
_SPOT_EXTRAS: dict[str, _Check] = {
    "stp": _enum_check(_SPOT_STP),
    "hidden": _bool,
    "iceberg": _bool,
    "isIsolated": _bool,
    "autoBorrow": _bool,
    "autoRepay": _bool,
    "remark": _len_check(20),
    "tags": _len_check(20),
    "visibleSize": _num,
    "cancelAfter": _int,
}
_FUTURES_EXTRAS: dict[str, _Check] = {
    "stp": _enum_check(_FUTURES_STP),
    "marginMode": _enum_check(("ISOLATED", "CROSS")),
    "positionSide": _enum_check(("BOTH", "LONG", "SHORT")),
    "remark": _len_check(100),
    "leverage": _num,
    "visibleSize": _num,
    "reduceOnly": _bool,
    "forceHold": _bool,
    "hidden": _bool,
    "iceberg": _bool,
}


def _check_extras(args: dict[str, Any], checks: dict[str, _Check]) -> None:
    get = checks.get
    for field in args:
        check = get(field)
        if check is not None:
            check(args, field)


def _one_id(args: dict[str, Any]) -> tuple[str | None, str | None]:
    """(orderId, clientOid), exactly one of them set."""
    oid = args.get("orderId")
    coid = args.get("clientOid")
    oid = None if oid == "" else oid
    coid = None if coid == "" else coid
    if oid is None and coid is None:
        raise _OpError(*ID_REQUIRED)
    if oid is not None and coid is not None:
        raise _OpError(PARAM_ERROR, MSG_BOTH_IDS)
    if oid is not None and not isinstance(oid, str):
        raise _invalid("orderId")
    if coid is not None and not isinstance(coid, str):
        raise _invalid("clientOid")
    return oid, coid


# --- the server ----------------------------------------------------------------------------


class KucoinSimulator(SimulatedExchange):
    """Simulated KuCoin WS API: ``ws://host:port/v1/private`` (see the module docstring).

    Blocking use: ``with KucoinSimulator() as sim:``; async: ``async with KucoinSimulator() as sim:``.
    Point a client at :attr:`private_url`. Order-book helpers (:meth:`orders`,
    :meth:`find_order`, :meth:`fill`) are safe to call from any thread.
    """

    name = "kucoin"
    path = "/v1/private"

    def __init__(
        self,
        *,
        credentials: Sequence[KucoinCredential] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        clock_offset_ms: int = 0,
        record: bool = True,
        symbols: Mapping[str, Iterable[str]] | None = None,
        partners: Mapping[str, str] | None = None,
        timestamp_window_ms: int = 5000,
        challenge_timeout: float = 30.0,
        pretty_challenge: bool = False,
        ping_interval_ms: int = 18000,
        ping_timeout_ms: int = 10000,
        idle_timeout: float | None = None,
        rate_limits: bool = True,
        spot_pool_limit: int = 4000,
        futures_pool_limit: int = 2000,
        pool_window_s: float = 30.0,
        rate_limit_key: str = "userRateLimit",
        enable_ns_default: bool = False,
        session_notice_grace: float = 5.0,
        keep_closed_orders: int = 10_000,
        rest_not_found: str = "error",
        rest_key_versions: Iterable[str] = ("2", "3"),
    ) -> None:
        super().__init__(host=host, port=port, clock_offset_ms=clock_offset_ms, record=record)
        creds = [DEFAULT_CREDENTIAL] if credentials is None else list(credentials)
        self._accounts: dict[str, _Account] = {
            c.api_key: _Account(c, keep_closed_orders) for c in creds
        }
        sym_src = DEFAULT_SYMBOLS if symbols is None else symbols
        # symbol -> the same string: lets stored orders share one string object per symbol.
        self._symbols: dict[str, dict[str, str]] = {
            m: {s: s for s in sym_src.get(m, ())} for m in MARKETS
        }
        self.partners: dict[str, str] = dict(partners or {})
        self.timestamp_window_ms = timestamp_window_ms
        self.challenge_timeout = challenge_timeout
        self.pretty_challenge = pretty_challenge
        self.ping_interval_ms = ping_interval_ms
        self.ping_timeout_ms = ping_timeout_ms
        self.idle_timeout = (
            (ping_interval_ms + ping_timeout_ms) / 1000 if idle_timeout is None else idle_timeout
        )
        self.rate_limits = rate_limits
        self.rate_limit_key = rate_limit_key
        self.enable_ns_default = enable_ns_default
        self.session_notice_grace = session_notice_grace
        self._pools: dict[str, RollingLimiter] = {
            "spot": RollingLimiter(spot_pool_limit, pool_window_s),
            "futures": RollingLimiter(futures_pool_limit, pool_window_s),
        }
        window_ms = int(pool_window_s * 1000)
        # What replies carry when rate limiting is off: a full pool, shared, never mutated.
        self._full_pools: dict[str, dict[str, int]] = {
            k: {"limit": p.limit, "reset": window_ms, "remaining": p.limit}
            for k, p in self._pools.items()
        }
        self._handlers: dict[str, tuple[Callable[[_Account, Any], Any], str, int]] = {
            op: (getattr(self, "_op_" + op.replace(".", "_")), pool, weight)
            for op, (pool, weight) in _POOL_OF.items()
        }
        if rest_not_found not in REST_NOT_FOUND_FORMS:
            raise ValueError(f"rest_not_found must be one of {REST_NOT_FOUND_FORMS}")
        self.rest_not_found = rest_not_found
        self.rest_key_versions = tuple(rest_key_versions)
        # Switches a test may flip while the server runs: REST answers 503 when not
        # available, and each REST answer waits ``rest_delay`` seconds first.
        self.rest_available = True
        self.rest_delay = 0.0
        self._conns: dict[web.WebSocketResponse, _Conn] = {}
        # 24 hex digits like KuCoin's ids: seconds at start + random salt + counter.
        self._oid_prefix = f"{int(time.time()) & 0xFFFFFFFF:08x}{os.urandom(2).hex()}"
        self._seq = itertools.count(1)

    # -- public surface -----------------------------------------------------------------
    async def __aenter__(self) -> KucoinSimulator:
        await self.start()
        return self

    def __enter__(self) -> KucoinSimulator:
        self.start_in_thread()
        return self

    @property
    def private_url(self) -> str:
        """The WS API URL without the signed query: ``ws://host:port/v1/private``."""
        return f"{self.ws_url}{self.path}"

    @property
    def credentials(self) -> list[KucoinCredential]:
        return [a.cred for a in self._accounts.values()]

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(self.path, self._handle)
        app.router.add_get("/api/v1/timestamp", self._rest_timestamp)
        # Signed order look-ups, spot and margin (KuCoin's spot host) and futures (its
        # futures host) on one URL. Static paths first: "byClientOid" is no order id.
        add = app.router.add_get
        add("/api/v1/hf/orders/client-order/{clientOid}", self._rest_order("spot", "coid"))
        add("/api/v1/hf/orders/{orderId}", self._rest_order("spot", "oid"))
        add("/api/v3/hf/margin/orders/client-order/{clientOid}", self._rest_order("margin", "coid"))
        add("/api/v3/hf/margin/orders/{orderId}", self._rest_order("margin", "oid"))
        add("/api/v1/orders/byClientOid", self._rest_order("futures", "coid"))
        add("/api/v1/orders/{orderId}", self._rest_order("futures", "oid"))

    async def _rest_timestamp(self, request: web.Request) -> web.Response:
        """REST server time, ms (shifted by ``clock_offset_ms``), as KuCoin serves it."""
        return web.json_response({"code": OK, "data": self.now_ms()})

    # -- REST order look-ups ------------------------------------------------------------------
    def _check_rest(self, request: web.Request) -> tuple[_Account | None, str | None]:
        """KuCoin's REST header authentication; (account, None) or (None, error code)."""
        h = request.headers
        key = h.get("KC-API-KEY")
        sign = h.get("KC-API-SIGN")
        ts = h.get("KC-API-TIMESTAMP")
        passphrase = h.get("KC-API-PASSPHRASE")
        if not key or not sign or not ts or not passphrase:
            return None, "400001"
        acct = self._accounts.get(key)
        if acct is None:
            return None, "400003"
        try:
            skew = abs(self.now_ms() - int(ts))
        except ValueError:
            return None, "400002"
        if skew > self.timestamp_window_ms:
            return None, "400002"
        version = h.get("KC-API-KEY-VERSION", "")
        if version not in self.rest_key_versions:
            return None, "400008" if version in ("1", "2") else "400009"
        # The docs sign the endpoint with its query not URL-encoded; a client that signs
        # what it sent (encoded) is accepted too, as both name the same request.
        raw = request.rel_url.raw_path_qs
        prefix = ts + request.method
        wanted = [_b64_hmac(acct.secret, prefix + raw)]
        if unquote(raw) != raw:
            wanted.append(_b64_hmac(acct.secret, prefix + unquote(raw)))
        if not any(hmac.compare_digest(sign, w) for w in wanted):
            return None, "400005"
        if not hmac.compare_digest(passphrase, acct.passphrase_sign):
            return None, "400004"
        return acct, None

    def _rest_order(self, market: str, by: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(request: web.Request) -> web.Response:
            return await self._serve_lookup(request, market, by)

        return handler

    async def _serve_lookup(self, request: web.Request, market: str, by: str) -> web.Response:
        self.stats["rest_requests"] += 1
        if self.rest_delay > 0:
            await asyncio.sleep(self.rest_delay)
        if not self.rest_available:
            return web.json_response({"code": "500000", "msg": MSG_REST_UNAVAILABLE}, status=503)
        acct, code = self._check_rest(request)
        if acct is None:
            self.stats["rest_auth_failed"] += 1
            code = code or "400001"
            msg = REST_AUTH_MESSAGES.get(code, "Unauthorized")
            return web.json_response({"code": code, "msg": msg}, status=REST_AUTH_STATUS)
        query = request.rel_url.query
        symbol = query.get("symbol") or None
        if market != "futures" and symbol is None:
            return web.json_response(
                {"code": PARAM_ERROR, "msg": MSG_REQUIRED.format(field="symbol")}
            )
        if by == "oid":
            o = self._lookup(acct, market, order_id=request.match_info["orderId"])
        else:
            coid = request.match_info.get("clientOid") or query.get("clientOid") or ""
            if not coid:
                return web.json_response(
                    {"code": PARAM_ERROR, "msg": MSG_REQUIRED.format(field="clientOid")}
                )
            o = self._lookup(acct, market, client_oid=coid)
        if o is not None and symbol is not None and o.symbol != symbol:
            o = None
        if o is None:
            self.stats["rest_not_found"] += 1
            if self.rest_not_found == "error":
                code, msg = REST_NOT_FOUND[market]
                return web.json_response({"code": code, "msg": msg})
            return web.json_response(
                {"code": OK, "data": None if self.rest_not_found == "null" else {}}
            )
        view = _futures_view(o) if market == "futures" else _spot_view(o)
        return web.json_response({"code": OK, "data": view})

    def _lookup(
        self,
        acct: _Account,
        market: str,
        *,
        order_id: str | None = None,
        client_oid: str | None = None,
    ) -> _Order | None:
        """An order of one account and market, open or closed; an open one wins, then
        the newest closed one (a client id may be reused once its order is done)."""
        if order_id is not None:
            o = acct.open[market].get(order_id)
        else:
            o = acct.by_client_oid[market].get(client_oid or "")
        if o is not None:
            return o
        for o in reversed(acct.closed):
            if o.market != market:
                continue
            if (order_id is not None and o.order_id == order_id) or (
                order_id is None and o.client_oid == client_oid
            ):
                return o
        return None

    def notice_frames(self) -> list[str]:
        # KuCoin documents no notice: this is okxkc's simulation of a server-side
        # session expiry, labelled as such in the frame itself.
        notice = {
            "type": "notice",
            "op": "session.expiring",
            "msg": "Session will be closed for maintenance (simulated). Please reconnect.",
            "closeIn": int(self.session_notice_grace * 1000),
        }
        return [_encode(notice).decode()]

    def send_notice(self) -> None:
        """Send the (simulated) session-expiry notice to every verified session and close
        each of them ``session_notice_grace`` seconds later; replies flow meanwhile."""
        frames = self.notice_frames()
        grace = self.session_notice_grace

        async def go() -> None:
            loop = asyncio.get_running_loop()
            for ws in list(self._conns):
                if ws.closed:
                    continue
                try:
                    for f in frames:
                        await ws.send_str(f)
                except ConnectionError:
                    continue
                self.stats["notices"] += 1
                loop.call_later(grace, self._close_later, ws, EXPIRE_CLOSE_CODE, b"session expired")

        self._on_loop(go)

    def expire_sessions(self) -> None:
        """Close every socket now with close code 1001 and no notice (a session expiry)."""

        async def go() -> None:
            for ws in list(self._sockets):
                self._close_later(ws, EXPIRE_CLOSE_CODE, b"session expired")

        self._on_loop(go)

    def orders(
        self, api_key: str | None = None, market: str | None = None, *, open_only: bool = False
    ) -> list[dict[str, Any]]:
        """Copies of the known orders (open ones, then recent closed ones), oldest first."""

        def collect() -> list[dict[str, Any]]:
            found: list[_Order] = []
            for acct in self._accounts.values():
                if api_key is not None and acct.cred.api_key != api_key:
                    continue
                for m, book in acct.open.items():
                    if market is None or m == market:
                        found.extend(book.values())
                if not open_only:
                    found.extend(o for o in acct.closed if market is None or o.market == market)
            found.sort(key=lambda o: o.seq)
            return [o.to_dict() for o in found]

        return self._call(collect)

    def find_order(
        self,
        *,
        order_id: str | None = None,
        client_oid: str | None = None,
        api_key: str | None = None,
    ) -> dict[str, Any] | None:
        """A copy of one order by id or clientOid (an open order wins over closed ones)."""

        def look() -> dict[str, Any] | None:
            o = self._find(order_id, client_oid, api_key)
            return None if o is None else o.to_dict()

        return self._call(look)

    def fill(self, order_id: str, size: str | Decimal | None = None) -> dict[str, Any]:
        """Fill an open order (fully, or by ``size``); returns a copy of the order."""

        def go() -> dict[str, Any]:
            o = self._find(order_id, None, None)
            if o is None or o.status != "open":
                raise KeyError(f"no open order {order_id!r}")
            left = o.remaining()
            qty = left if size is None else Decimal(str(size))
            if qty <= 0 or qty > left:
                raise ValueError(f"fill size must be in (0, {left}]")
            o.deal = _fmt(Decimal(o.deal) + qty)
            o.match_time = o.updated = self.now_ms()
            if qty == left:
                self._retire(self._accounts[o.account], o)
            return o.to_dict()

        return self._call(go)

    # -- thread plumbing ----------------------------------------------------------------------
    def _call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the simulator's loop (at once if already there) and return its result.

        The base's ``_on_loop`` spawns a task when called on the loop, so an async test
        would not see the change yet; the order book needs a synchronous answer.
        """
        loop = self._loop
        if loop is None or loop.is_closed() or not loop.is_running():
            return fn()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            return fn()

        async def go() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(go(), loop).result(10)

    def _close_later(self, ws: web.WebSocketResponse, code: int, message: bytes) -> None:
        if ws.closed:
            return

        async def go() -> None:
            await ws.close(code=code, message=message)

        self._spawn(go())

    # -- order book ---------------------------------------------------------------------------
    def _find(
        self, order_id: str | None, client_oid: str | None, api_key: str | None
    ) -> _Order | None:
        accts = [a for a in self._accounts.values() if api_key is None or a.cred.api_key == api_key]
        for a in accts:
            for m in MARKETS:
                if order_id is not None:
                    o = a.open[m].get(order_id)
                else:
                    o = a.by_client_oid[m].get(client_oid or "")
                if o is not None:
                    return o
        for a in accts:
            for o in reversed(a.closed):
                if (order_id is not None and o.order_id == order_id) or (
                    order_id is None and client_oid and o.client_oid == client_oid
                ):
                    return o
        return None

    def _new_order(
        self,
        acct: _Account,
        market: str,
        client_oid: str,
        symbol: str,
        side: str,
        type_: str,
        price: str | None,
        size: str | None,
        size_field: str,
        funds: str | None,
        tif: str,
        rests: bool,
        args: dict[str, Any],
    ) -> _Order:
        seq = next(self._seq)
        o = _Order(
            acct.cred.api_key,
            market,
            f"{self._oid_prefix}{seq:012x}",
            seq,
            client_oid,
            symbol,
            side,
            type_,
            price,
            size,
            size_field,
            funds,
            tif,
            self.now_ms(),
            args,
        )
        if rests:
            acct.open[market][o.order_id] = o
            if client_oid:
                acct.by_client_oid[market][client_oid] = o
        else:
            # The deterministic fill model: market, IOC and FOK orders fill in full at once.
            o.deal = size if size is not None else "0"
            o.status = "done"
            acct.closed.append(o)
        return o

    def _retire(self, acct: _Account, o: _Order, *, cancel: bool = False) -> None:
        if cancel:
            o.canceled = _fmt(o.remaining())
        o.status = "done"
        o.updated = self.now_ms()
        acct.open[o.market].pop(o.order_id, None)
        if o.client_oid and acct.by_client_oid[o.market].get(o.client_oid) is o:
            del acct.by_client_oid[o.market][o.client_oid]
        acct.closed.append(o)

    def _symbol(self, args: dict[str, Any], market: str) -> str:
        s = args.get("symbol")
        if s is None or s == "":
            raise _missing("symbol")
        canon = self._symbols[market].get(s) if isinstance(s, str) else None
        if canon is None:
            raise _OpError(PARAM_ERROR, MSG_UNKNOWN_SYMBOL.format(symbol=s))
        return canon

    def _check_dup(self, acct: _Account, market: str, client_oid: str) -> None:
        if client_oid and client_oid in acct.by_client_oid[market]:
            raise _OpError(PARAM_ERROR, MSG_DUPLICATE_CLIENT_OID)

    def _target(
        self, acct: _Account, args: Any, market: str, *, need_symbol: bool = True
    ) -> tuple[_Order, str | None, str | None]:
        args = _args_obj(args)
        oid, coid = _one_id(args)
        symbol = self._symbol(args, market) if need_symbol or coid is not None else None
        o = (
            acct.open[market].get(oid)
            if oid is not None
            else acct.by_client_oid[market].get(coid or "")
        )
        if o is None or (symbol is not None and o.symbol != symbol):
            raise _OpError(*ORDER_NOT_FOUND)
        return o, oid, coid

    # -- order placement -------------------------------------------------------------------------
    def _spot_order(self, acct: _Account, args: Any, market: str) -> _Order:
        args = _args_obj(args)
        margin = market == "margin"
        symbol = self._symbol(args, market)
        side = _enum(args, "side", _SIDES)
        type_ = _enum(args, "type", _TYPES, "limit" if margin else None)
        client_oid = _client_oid(args, required=margin)
        tif = _enum(args, "timeInForce", _SPOT_TIF, "GTC")
        post_only = _bool(args, "postOnly")
        _check_extras(args, _SPOT_EXTRAS)
        price = size = funds = None
        if type_ == "limit":
            price = _num(args, "price")
            if price is None:
                raise _missing("price")
            size = _num(args, "size")
            if size is None:
                raise _missing("size")
            if post_only and tif in ("IOC", "FOK"):
                raise _invalid("postOnly")
        else:
            size = _num(args, "size")
            funds = _num(args, "funds")
            if (size is None) == (funds is None):
                raise _OpError(
                    PARAM_ERROR, "Parameter error: exactly one of size or funds is required"
                )
        if not margin and args.get("allowMaxTimeWindow") is not None:
            window = _int(args, "allowMaxTimeWindow")
            sent = _int(args, "clientTimestamp")
            if sent is None:
                raise _missing("clientTimestamp")
            if window is not None and sent + window < self.now_ms():
                raise _OpError(*ORDER_EXPIRED)
        self._check_dup(acct, market, client_oid)
        rests = type_ == "limit" and tif in ("GTC", "GTT")
        return self._new_order(
            acct,
            market,
            client_oid,
            symbol,
            side,
            type_,
            price,
            size,
            "size",
            funds,
            tif,
            rests,
            args,
        )

    def _futures_order(self, acct: _Account, args: Any) -> _Order:
        args = _args_obj(args)
        symbol = self._symbol(args, "futures")
        side = _enum(args, "side", _SIDES)
        type_ = _enum(args, "type", _TYPES, "limit")
        client_oid = _client_oid(args, required=True)
        tif = _enum(args, "timeInForce", _FUTURES_TIF, "GTC")
        post_only = _bool(args, "postOnly")
        close_order = _bool(args, "closeOrder")
        _check_extras(args, _FUTURES_EXTRAS)
        stop = args.get("stop")
        if stop is not None and stop != "":
            _enum(args, "stop", ("down", "up"))
            _opt_enum(args, "stopPriceType", ("TP", "MP", "IP"))
            if _num(args, "stopPrice") is None:
                raise _missing("stopPrice")
        given = [(f, _num(args, f, integer=f == "size")) for f in ("size", "qty", "valueQty")]
        given = [(f, v) for f, v in given if v is not None]
        if len(given) > 1 or (not given and not close_order):
            raise _OpError(
                PARAM_ERROR, "Parameter error: exactly one of size, qty or valueQty is required"
            )
        size_field, size = given[0] if given else ("size", None)
        price = None
        if type_ == "limit":
            price = _num(args, "price")
            if price is None:
                raise _missing("price")
            if post_only and tif == "IOC":
                raise _invalid("postOnly")
        self._check_dup(acct, "futures", client_oid)
        # Untriggered stop orders rest whatever their type.
        rests = (type_ == "limit" and tif != "IOC") or bool(stop)
        return self._new_order(
            acct,
            "futures",
            client_oid,
            symbol,
            side,
            type_,
            price,
            size,
            size_field,
            None,
            tif,
            rests,
            args,
        )

    @staticmethod
    def _sync_view(o: _Order) -> dict[str, Any]:
        return {
            "orderId": o.order_id,
            "clientOid": o.client_oid,
            "orderTime": o.created,
            "originSize": o.size or "0",
            "dealSize": o.deal,
            "remainSize": _fmt(o.remaining()),
            "canceledSize": o.canceled,
            "status": o.status,
            "matchTime": o.match_time,
        }

    # -- the eleven ops: (account, args) -> data, or raise _OpError ----------------------------
    def _op_spot_order(self, acct: _Account, args: Any) -> Any:
        o = self._spot_order(acct, args, "spot")
        return {"orderId": o.order_id, "clientOid": o.client_oid}

    def _op_spot_sync_order(self, acct: _Account, args: Any) -> Any:
        return self._sync_view(self._spot_order(acct, args, "spot"))

    def _op_margin_order(self, acct: _Account, args: Any) -> Any:
        o = self._spot_order(acct, args, "margin")
        # Nothing is lent in the simulation; an auto-borrow order reports a zero loan.
        borrow = args.get("autoBorrow") is True
        return {
            "orderId": o.order_id,
            "clientOid": o.client_oid,
            "borrowSize": "0" if borrow else None,
            "loanApplyId": None,
        }

    def _cancel(self, acct: _Account, args: Any, market: str) -> Any:
        o, oid, coid = self._target(acct, args, market)
        self._retire(acct, o, cancel=True)
        return {"orderId": oid} if oid is not None else {"clientOid": coid}

    def _op_spot_cancel(self, acct: _Account, args: Any) -> Any:
        return self._cancel(acct, args, "spot")

    def _op_margin_cancel(self, acct: _Account, args: Any) -> Any:
        return self._cancel(acct, args, "margin")

    def _op_spot_sync_cancel(self, acct: _Account, args: Any) -> Any:
        o, oid, coid = self._target(acct, args, "spot")
        self._retire(acct, o, cancel=True)
        view: dict[str, Any] = {"orderId": oid} if oid is not None else {"clientOid": coid}
        view.update(
            originSize=o.size or "0",
            dealSize=o.deal,
            remainSize="0",
            canceledSize=o.canceled,
            status=o.status,
        )
        return view

    def _op_spot_modify(self, acct: _Account, args: Any) -> Any:
        args = _args_obj(args)
        new_price = _num(args, "newPrice")
        new_size = _num(args, "newSize")
        o, _oid, _coid = self._target(acct, args, "spot")
        if new_price is None and new_size is None:
            raise _OpError(PARAM_ERROR, "Parameter error: newPrice or newSize is required")
        dealt = Decimal(o.deal)
        total = Decimal(new_size) if new_size is not None else Decimal(o.size or "0")
        self._retire(acct, o, cancel=True)
        if total <= dealt:
            # KuCoin: a new size at or below the filled size completes the order; nothing
            # new is placed, so there is no new id (our choice: null).
            return {"newOrderId": None, "clientOid": o.client_oid}
        n = self._new_order(
            acct,
            "spot",
            o.client_oid,
            o.symbol,
            o.side,
            o.type,
            new_price or o.price,
            _fmt(total - dealt),
            "size",
            None,
            o.tif,
            True,
            o.args,
        )
        return {"newOrderId": n.order_id, "clientOid": n.client_oid}

    def _op_futures_order(self, acct: _Account, args: Any) -> Any:
        o = self._futures_order(acct, args)
        return {"orderId": o.order_id, "clientOid": o.client_oid}

    def _op_futures_cancel(self, acct: _Account, args: Any) -> Any:
        o, oid, _coid = self._target(acct, args, "futures", need_symbol=False)
        self._retire(acct, o, cancel=True)
        if oid is not None:
            return {"cancelledOrderIds": [oid]}
        return {"clientOid": o.client_oid}

    def _op_futures_multi_order(self, acct: _Account, args: Any) -> Any:
        if not isinstance(args, list) or not args:
            raise _OpError(PARAM_ERROR, MSG_INVALID.format(field="args"))
        if len(args) > MAX_BATCH:
            raise _OpError(PARAM_ERROR, MSG_BATCH_TOO_LARGE.format(max=MAX_BATCH))
        out = []
        for item in args:
            sym = item.get("symbol") if isinstance(item, dict) else None
            coid = item.get("clientOid") if isinstance(item, dict) else None
            try:
                o = self._futures_order(acct, item)
            except _OpError as e:
                out.append(
                    {
                        "orderId": None,
                        "clientOid": coid,
                        "symbol": sym,
                        "code": e.code,
                        "msg": e.msg,
                    }
                )
            else:
                out.append(
                    {
                        "orderId": o.order_id,
                        "clientOid": o.client_oid,
                        "symbol": o.symbol,
                        "code": OK,
                        "msg": "success",
                    }
                )
        return out

    def _op_futures_multi_cancel(self, acct: _Account, args: Any) -> Any:
        args = _args_obj(args)
        ids = args.get("orderIdsList")
        pairs = args.get("clientOidsList")
        if not ids and not pairs:
            raise _OpError(*ID_REQUIRED)
        if ids is not None and not isinstance(ids, list):
            raise _invalid("orderIdsList")
        if pairs is not None and not isinstance(pairs, list):
            raise _invalid("clientOidsList")
        out: list[dict[str, Any]] = []
        book = acct.open["futures"]
        for oid in ids or ():
            o = book.get(oid) if isinstance(oid, str) else None
            if o is None:
                out.append(
                    {
                        "orderId": oid,
                        "clientOid": None,
                        "code": ORDER_NOT_FOUND[0],
                        "msg": MSG_ORDER_NOT_FOUND,
                    }
                )
                continue
            self._retire(acct, o, cancel=True)
            # Per-item success is "200"/"success" in KuCoin's REST example, not "200000".
            out.append({"orderId": oid, "clientOid": None, "code": "200", "msg": "success"})
        for pair in pairs or ():
            coid = pair.get("clientOid") if isinstance(pair, dict) else None
            try:
                o, _oid, _coid = self._target(acct, pair, "futures", need_symbol=False)
            except _OpError as e:
                out.append({"orderId": None, "clientOid": coid, "code": e.code, "msg": e.msg})
                continue
            self._retire(acct, o, cancel=True)
            out.append({"orderId": None, "clientOid": coid, "code": "200", "msg": "success"})
        return out

    # -- connection handling -------------------------------------------------------------------
    def _stamp(self, ns: bool) -> int:
        if ns:
            return time.time_ns() + self.clock_offset_ms * 1_000_000
        return int(time.time() * 1000) + self.clock_offset_ms

    def _conn_error(self, code: str, msg: str, ns: bool) -> bytes:
        t = self._stamp(ns)
        return _encode({"code": code, "msg": msg, "inTime": t, "outTime": t})

    def _check_url(self, query: dict[str, str]) -> tuple[_Account | None, str | None]:
        """The URL login checks in KuCoin's order; (account, None) or (None, error code)."""
        apikey = query.get("apikey")
        ts = query.get("timestamp")
        sign = query.get("sign")
        passphrase = query.get("passphrase")
        if not apikey or not ts or not sign or not passphrase:
            return None, "400001"
        acct = self._accounts.get(apikey)
        if acct is None:
            return None, "400003"
        try:
            skew = abs(self.now_ms() - int(ts))
        except ValueError:
            return None, "400002"
        if skew > self.timestamp_window_ms:
            return None, "400002"
        if not hmac.compare_digest(sign, _b64_hmac(acct.secret, apikey + ts)):
            return None, "400005"
        if not hmac.compare_digest(passphrase, acct.passphrase_sign):
            return None, "400004"
        partner = query.get("partner")
        if partner:
            partner_secret = self.partners.get(partner)
            if partner_secret is None:
                return None, "400200"
            wanted = _b64_hmac(partner_secret.encode(), ts + partner + apikey)
            if not hmac.compare_digest(query.get("partner_sign", ""), wanted):
                return None, "400201"
        return acct, None

    @staticmethod
    def _parse_query(raw: str) -> dict[str, str]:
        # Percent-decoding only, in any order: a "+" left unescaped by a client is part of
        # the base64 value, not a space (form decoding would break the signature).
        out: dict[str, str] = {}
        for part in raw.split("&"):
            if not part:
                continue
            k, _, v = part.partition("=")
            out.setdefault(unquote(k), unquote(v))
        return out

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(compress=False, timeout=5.0)
        if not ws.can_prepare(request).ok:
            return web.Response(status=400, text="expected a WebSocket upgrade")
        await ws.prepare(request)
        self.track(ws)
        try:
            await self._session(ws, request)
        finally:
            self.untrack(ws)
            self._conns.pop(ws, None)
            if not ws.closed:
                await ws.close()
        return ws

    async def _fail(self, ws: web.WebSocketResponse, code: str, ns: bool) -> None:
        self.stats["logins_failed"] += 1
        msg = AUTH_MESSAGES.get(code, "Login rejected (simulated)")
        try:
            await self._send(ws, self._conn_error(code, msg, ns))
            await ws.close(code=AUTH_CLOSE_CODE, message=msg.encode()[:120])
        except ConnectionError:
            pass

    async def _session(self, ws: web.WebSocketResponse, request: web.Request) -> None:
        query = self._parse_query(request.rel_url.raw_query_string)
        ns = query.get("enable_ns", "").lower() == "true" or self.enable_ns_default
        rejected, forced_code = self.faults.take_login_rejection()
        acct, code = self._check_url(query)
        if rejected:
            code = forced_code or DEFAULT_LOGIN_REJECTION
        if code is not None or acct is None:
            await self._fail(ws, code or "400001", ns)
            return

        # The session challenge: the client signs exactly the text we send.
        session_id = str(uuid.uuid4())
        ts = self.now_ms()
        if self.pretty_challenge:
            challenge = f'{{"sessionId": "{session_id}", "timestamp": {ts}}}'
        else:
            challenge = f'{{"sessionId":"{session_id}","timestamp":{ts}}}'
        await self._send(ws, challenge.encode())
        try:
            msg = await ws.receive(timeout=self.challenge_timeout)
        except asyncio.TimeoutError:
            await self._fail(ws, "400012", ns)
            return
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
            return
        wanted = _b64_hmac(acct.secret, challenge)
        if msg.type is not WSMsgType.TEXT or not hmac.compare_digest(
            str(msg.data).encode(), wanted.encode()
        ):
            await self._fail(ws, "400011", ns)
            return
        welcome = {
            "sessionId": session_id,
            "data": "welcome",
            "pingInterval": self.ping_interval_ms,
            "pingTimeout": self.ping_timeout_ms,
        }
        # Counted before sending: a client on another thread may look right after the welcome.
        self.stats["logins_ok"] += 1
        await self._send(ws, _encode(welcome))
        conn = _Conn(ws, acct, ns)
        conn.session_id = session_id
        self._conns[ws] = conn
        try:
            await self._serve(conn)
        finally:
            if conn.timer is not None:
                conn.timer.cancel()

    def _arm_idle(self, conn: _Conn) -> None:
        if conn.ws.closed:
            return
        loop = asyncio.get_running_loop()
        left = conn.last_rx + self.idle_timeout - loop.time()
        if left > 0:
            conn.timer = loop.call_later(left, self._arm_idle, conn)
            return
        # No client frame within pingInterval + pingTimeout: KuCoin drops such links.
        self.stats["idle_closes"] += 1
        self._close_later(conn.ws, IDLE_CLOSE_CODE, b"ping timeout")

    async def _serve(self, conn: _Conn) -> None:
        ws = conn.ws
        loop = asyncio.get_running_loop()
        conn.last_rx = loop.time()
        if self.idle_timeout > 0:
            self._arm_idle(conn)
        receive = ws.receive
        text, binary = WSMsgType.TEXT, WSMsgType.BINARY
        while True:
            msg = await receive()
            if msg.type is text or msg.type is binary:
                conn.last_rx = loop.time()
                if not await self._on_frame(conn, msg.data):
                    return
            else:
                return

    async def _on_frame(self, conn: _Conn, data: str | bytes) -> bool:
        """Handle one client frame after the welcome; False once the socket was cut."""
        ws = conn.ws
        ns = conn.ns
        in_t = self._stamp(ns)
        try:
            obj = _decode(data)
        except (msgspec.DecodeError, UnicodeDecodeError):
            await self._send(ws, self._conn_error(PARAM_ERROR, MSG_INVALID_JSON, ns))
            return True
        if type(obj) is not dict:
            await self._send(ws, self._conn_error(PARAM_ERROR, MSG_NOT_OBJECT, ns))
            return True
        rid = obj.get("id")
        if type(rid) is not str or not rid:
            await self._send(ws, self._conn_error(BAD_ID_CODE, MSG_BAD_ID, ns))
            return True
        op = obj.get("op")
        if op == "ping":
            self.stats["pings"] += 1
            await self._send(ws, _encode({"id": rid, "op": "pong", "timestamp": self.now_ms()}))
            return True
        handler = self._handlers.get(op) if isinstance(op, str) else None
        if handler is None or not isinstance(op, str):
            reply: dict[str, Any] = {
                "id": rid,
                "op": op,
                "code": PARAM_ERROR,
                "msg": MSG_INVALID_OP.format(op=op),
                "inTime": in_t,
                "outTime": in_t,
            }
            await self._send(ws, _encode(reply))
            return True
        self.stats["requests"] += 1
        if self.record:
            obj["_account"] = conn.acct.cred.api_key
            self.log_request(obj)
        decision = self.faults.decide(op)
        if decision.normal:
            reply = self._process(conn.acct, rid, op, obj.get("args"), handler, in_t)
            reply["outTime"] = self._stamp(ns)
            await self._send(ws, _encode(reply))
            return True
        if decision.drop:
            if decision.process:
                self._process(conn.acct, rid, op, obj.get("args"), handler, in_t)
            _abort(ws)
            return False
        reply = self._process(conn.acct, rid, op, obj.get("args"), handler, in_t)
        if decision.reply:
            self._spawn(self._reply_later(ws, reply, decision.delay, ns))
        return True

    async def _reply_later(
        self, ws: web.WebSocketResponse, reply: dict[str, Any], delay: float, ns: bool
    ) -> None:
        await asyncio.sleep(delay)
        if ws.closed:
            return
        reply["outTime"] = self._stamp(ns)
        await self._send(ws, _encode(reply))

    def _process(
        self,
        acct: _Account,
        rid: str,
        op: str,
        args: Any,
        handler: tuple[Callable[[_Account, Any], Any], str, int],
        in_t: int,
    ) -> dict[str, Any]:
        fn, pool, weight = handler
        if self.rate_limits:
            limiter = self._pools[pool]
            key = acct.cred.api_key
            now = time.monotonic()
            allowed = limiter.try_take(key, weight, now)
            quota: dict[str, int] = {
                "limit": limiter.limit,
                "reset": limiter.reset_ms(key, now),
                "remaining": limiter.remaining(key, now),
            }
            if not allowed:
                self.stats["rate_limited"] += 1
                return {
                    "id": rid,
                    "op": op,
                    "code": RATE_LIMITED,
                    "msg": MSG_TOO_MANY,
                    "inTime": in_t,
                    "outTime": in_t,
                    self.rate_limit_key: quota,
                }
        else:
            quota = self._full_pools[pool]
        try:
            data = fn(acct, args)
        except _OpError as e:
            return {
                "id": rid,
                "op": op,
                "code": e.code,
                "msg": e.msg,
                "inTime": in_t,
                "outTime": in_t,
                self.rate_limit_key: quota,
            }
        return {
            "id": rid,
            "op": op,
            "code": OK,
            "data": data,
            "inTime": in_t,
            "outTime": in_t,
            self.rate_limit_key: quota,
        }

    @staticmethod
    async def _send(ws: web.WebSocketResponse, payload: bytes) -> None:
        try:
            if _HAS_SEND_FRAME:
                await ws.send_frame(payload, WSMsgType.TEXT)
            else:  # aiohttp < 3.11
                await ws.send_str(payload.decode())
        except ConnectionError:
            # The client went away mid-reply; its read loop ends on its own.
            pass

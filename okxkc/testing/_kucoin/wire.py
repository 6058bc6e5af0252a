"""KuCoin WS API wire facts: codes, messages, op pools, enums, the JSON codec.

Facts ``protocol/kucoin.md`` marks UNVERIFIED are named constants here, so a test
(or a user) can match them and they change in one place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal

import msgspec
from aiohttp import web

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
POOL_OF: dict[str, tuple[str, int]] = {
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
ALL_OPS: tuple[str, ...] = tuple(POOL_OF)

MARKETS = ("spot", "margin", "futures")
DEFAULT_SYMBOLS: Mapping[str, Sequence[str]] = {
    "spot": ("BTC-USDT", "ETH-USDT"),
    "margin": ("BTC-USDT", "ETH-USDT"),
    "futures": ("XBTUSDTM", "ETHUSDTM"),
}

SIDES = ("buy", "sell")
TYPES = ("limit", "market")
SPOT_TIF = ("GTC", "GTT", "IOC", "FOK")
# RPI appears in the Node SDK's types only; it rests like GTC here.
FUTURES_TIF = ("GTC", "IOC", "RPI")
SPOT_STP = ("DC", "CO", "CN", "CB")
FUTURES_STP = ("CN", "CO", "CB")
CLIENT_OID_RE = re.compile(r"[A-Za-z0-9_-]{1,40}\Z")
ZERO = Decimal(0)

# Sending the encoder's bytes as a text frame skips a decode/encode round trip.
HAS_SEND_FRAME = hasattr(web.WebSocketResponse, "send_frame")
encode = msgspec.json.Encoder().encode
decode = msgspec.json.Decoder().decode


class OpError(Exception):
    """A business error answered with KuCoin's ``code`` and ``msg``."""

    def __init__(self, code: str, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


def fmt(d: Decimal) -> str:
    """A decimal as KuCoin writes it: plain notation, no trailing zeros."""
    if d == 0:
        return "0"
    s = format(d, "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s

"""KuCoin order lookups that settle a lost reply: which orders a request touched, the
signed REST GET that finds each one, and what the answer means. Pure: no I/O.

Endpoints (see docs/outcomes.md for the sources): spot
``GET /api/v1/hf/orders/client-order/{clientOid}?symbol=`` (``/api/v1/hf/orders/{orderId}``),
margin ``GET /api/v3/hf/margin/orders/client-order/{clientOid}?symbol=``
(``/api/v3/hf/margin/orders/{orderId}``), futures on the futures host
``GET /api/v1/orders/byClientOid?clientOid=`` (``/api/v1/orders/{orderId}``), Unified
Trading Account orders ``GET /api/ua/v1/unified/order/detail?tradeType=&symbol=&clientOid=``
(or ``orderId=``) on the spot host; signed with
``KC-API-KEY``, ``KC-API-SIGN`` (base64 HMAC-SHA256 of timestamp + ``GET`` + path with
query), ``KC-API-TIMESTAMP`` (ms), ``KC-API-PASSPHRASE`` (signed) and
``KC-API-KEY-VERSION``. KuCoin documents no "not found" code for these: the forms
clients meet (``400100`` "order not exist.", futures ``100001`` "...orderNotExist", or
empty ``data``) count as not found, anything else as a failed lookup.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from time import monotonic
from time import time as wall_time
from typing import Any
from urllib.parse import quote, urlencode

from .._engine import outcome as _outcome
from .._engine.outcome import (
    AMEND,
    CANCEL,
    DONE,
    FOLLOW,
    NEVER,
    NOT_YET,
    PLACE,
    UNKNOWN,
    Finding,
    Quick,
    Sending,
    Target,
)
from .._signing import Clock, hmac_b64
from ..config import KucoinAccount
from . import models
from .models import KucoinResponse

__all__ = ["FUTURES_REST", "KucoinLookups"]

#: KuCoin's futures REST host (spot and margin use the spot host).
FUTURES_REST = "https://api-futures.kucoin.com"
_SUCCESS = "200000"
#: The API key version okxkc signs for (the passphrase is signed, as for v2 and v3 keys).
KEY_VERSION = "2"
# Refused key / signature / passphrase / timestamp / IP: looking again cannot help.
_REFUSED = frozenset(
    {"400001", "400002", "400003", "400004", "400005", "400006", "400007", "400008", "400009"}
)

# op -> (market, what it does, result type, args is a batch)
_OPS: dict[str, tuple[str, str, type[Any], bool]] = {
    "spot.order": ("spot", PLACE, models.SpotOrderAck, False),
    "spot.sync_order": ("spot", PLACE, models.SyncOrderAck, False),
    "spot.modify": ("spot", AMEND, models.SpotModifyAck, False),
    "spot.cancel": ("spot", CANCEL, models.SpotCancelAck, False),
    "spot.sync_cancel": ("spot", CANCEL, models.SyncCancelAck, False),
    "margin.order": ("margin", PLACE, models.MarginOrderAck, False),
    "margin.cancel": ("margin", CANCEL, models.SpotCancelAck, False),
    "futures.order": ("futures", PLACE, models.FuturesOrderAck, False),
    "futures.cancel": ("futures", CANCEL, models.FuturesCancelAck, False),
    "futures.multi_order": ("futures", PLACE, models.FuturesBatchOrderItem, True),
    "futures.multi_cancel": ("futures", CANCEL, models.FuturesBatchCancelItem, True),
    "uta.order": ("uta", PLACE, models.UtaOrderAck, False),
    "uta.amend": ("uta", AMEND, models.UtaAmendAck, False),
    "uta.cancel": ("uta", CANCEL, models.UtaCancelAck, False),
}
# Spot places carry ``allowMaxTimeWindow`` (the only KuCoin ops with an expiry).
_EXPIRING = frozenset({"spot.order", "spot.sync_order"})
# Every place gets a client id when the user gave none (KuCoin: at most 40 characters).
_PLACES = frozenset({"spot.order", "spot.sync_order", "margin.order", "futures.order", "uta.order"})
_BATCH_PLACES = frozenset({"futures.multi_order"})
UTA_DETAIL = "/api/ua/v1/unified/order/detail"
_LIST_RESULT = frozenset({"futures.multi_order", "futures.multi_cancel"})


def _not_exist(msg: str) -> bool:
    flat = msg.lower().replace("_", "").replace(" ", "").replace(".", "")
    return "notexist" in flat


def _same(a: Any, b: Any) -> bool:
    try:
        return Decimal(str(a)) == Decimal(str(b))
    except (InvalidOperation, ValueError):
        return False


def _active(order: Mapping[str, Any]) -> bool:
    flag = order.get("active", order.get("isActive"))
    if isinstance(flag, bool):
        return flag
    return str(order.get("status", "")).lower() in ("open", "new", "active")


def _canceled(order: Mapping[str, Any]) -> bool:
    if order.get("cancelExist") is True:
        return True
    try:
        return Decimal(str(order.get("cancelledSize") or "0")) > 0
    except InvalidOperation:
        return False


class KucoinLookups:
    """The KuCoin side of :class:`okxkc._engine.outcome.Resolver`."""

    def __init__(self, rest_base: str, futures_base: str, clock: Clock) -> None:
        self.rest_base = rest_base.rstrip("/")
        self.futures_base = futures_base.rstrip("/")
        self.clock = clock

    # -- before sending ----------------------------------------------------------------
    def prepare(self, op: str, meta: Any, resolve: bool) -> Sending:
        started = monotonic()
        args = meta.args
        if op in _PLACES:
            if not args.get("clientOid"):
                args["clientOid"] = _outcome.new_client_id()
        elif op in _BATCH_PLACES:
            for item in args:
                if not item.get("clientOid"):
                    item["clientOid"] = _outcome.new_client_id()
        if (
            resolve
            and op in _EXPIRING
            and "allowMaxTimeWindow" not in args
            and "clientTimestamp" not in args
        ):
            # The call's deadline, on the exchange's clock at sending (the adapter
            # writes it): a request reaching the gateway after it fails there.
            sending = Sending(started, None, int((wall_time() + meta.timeout) * 1000))
        else:
            sending = Sending(started)
        meta.extras = sending
        return sending

    def quick(self, op: str, resolve: bool) -> Quick | None:
        if op in _BATCH_PLACES:
            return None  # its items are a list
        expiring = resolve and op in _EXPIRING
        return Quick(
            "clientOid" if op in _PLACES else None,
            expiring,
            ("allowMaxTimeWindow", "clientTimestamp") if expiring else (),
        )

    # -- what to look up ---------------------------------------------------------------
    def resolvable(self, op: str) -> bool:
        return op in _OPS

    def targets(self, op: str, args: Any, sending: Sending) -> list[Target]:
        market, action, _, batch = _OPS[op]
        if op == "futures.multi_cancel":
            out = []
            n = 0
            for oid in args.get("orderIdsList") or ():
                out.append(Target(n, CANCEL, {"market": market, "orderId": str(oid)}, {}))
                n += 1
            for pair in args.get("clientOidsList") or ():
                key = {"market": market, "clientOid": str(pair.get("clientOid", ""))}
                out.append(Target(n, CANCEL, key, dict(pair)))
                n += 1
            return out
        items = args if batch else [args]
        expires = None
        if op in _EXPIRING:
            window, sent = args.get("allowMaxTimeWindow"), args.get("clientTimestamp")
            if isinstance(window, int) and isinstance(sent, int):
                expires = sent + window
        out = []
        for i, item in enumerate(items):
            key = {"market": market}
            if market == "uta":
                key["tradeType"] = _uta_trade_type(item)
            if market != "futures" and item.get("symbol"):
                key["symbol"] = str(item["symbol"])
            if item.get("orderId"):
                key["orderId"] = str(item["orderId"])
            elif item.get("clientOid"):
                key["clientOid"] = str(item["clientOid"])
            else:
                continue
            out.append(Target(i, action, key, item, expires))
        return out

    def lookup_request(self, target: Target, account: KucoinAccount) -> tuple[str, dict[str, str]]:
        key = target.key
        market = key["market"]
        if market == "uta":
            base = self.rest_base
            params = {"tradeType": key["tradeType"]}
            if "symbol" in key:
                params["symbol"] = key["symbol"]
            name = "orderId" if "orderId" in key else "clientOid"
            params[name] = key[name]
            path = f"{UTA_DETAIL}?{urlencode(params)}"
        elif market == "futures":
            base = self.futures_base
            if "orderId" in key:
                path = f"/api/v1/orders/{quote(key['orderId'], safe='')}"
            else:
                path = "/api/v1/orders/byClientOid?" + urlencode({"clientOid": key["clientOid"]})
        else:
            base = self.rest_base
            root = "/api/v1/hf/orders" if market == "spot" else "/api/v3/hf/margin/orders"
            query = urlencode({"symbol": key.get("symbol", "")})
            if "orderId" in key:
                path = f"{root}/{quote(key['orderId'], safe='')}?{query}"
            else:
                path = f"{root}/client-order/{quote(key['clientOid'], safe='')}?{query}"
        ts = str(self.clock.now_ms())
        headers = {
            "KC-API-KEY": account.api_key,
            "KC-API-SIGN": hmac_b64(account.api_secret, f"{ts}GET{path}"),
            "KC-API-TIMESTAMP": ts,
            "KC-API-PASSPHRASE": hmac_b64(account.api_secret, account.api_passphrase),
            "KC-API-KEY-VERSION": KEY_VERSION,
        }
        return base + path, headers

    def time_url(self) -> str:
        return f"{self.rest_base}/api/v1/timestamp"

    def now_ms(self) -> int:
        return self.clock.now_ms()

    @staticmethod
    def read_time(body: Any) -> int | None:
        try:
            return int(body["data"])
        except (KeyError, TypeError, ValueError):
            return None

    # -- what the answer means ---------------------------------------------------------
    @staticmethod
    def read(target: Target, body: Any) -> Finding:
        if not isinstance(body, Mapping):
            return Finding("failed", detail=f"unexpected REST reply {str(body)[:120]!r}")
        code = str(body.get("code"))
        msg = str(body.get("msg") or "")
        if code == _SUCCESS:
            data = body.get("data")
            if isinstance(data, Mapping) and data:
                return Finding("found", data)
            return Finding("absent", detail="empty data")
        if code in ("400100", "100001") and _not_exist(msg):
            return Finding("absent", detail=f"[{code}] {msg}")
        return Finding("failed", detail=f"[{code}] {msg}", terminal=code in _REFUSED)

    @staticmethod
    def effect(target: Target, finding: Finding) -> tuple[str, str]:
        if finding.state == "absent":
            return (NOT_YET if target.action == PLACE else UNKNOWN), "absent"
        order = finding.order or {}
        if target.key["market"] == "uta":
            return _uta_effect(target, order)
        active = _active(order)
        state = "open" if active else ("canceled" if _canceled(order) else "done")
        if target.action == PLACE:
            return DONE, state
        if target.action == CANCEL:
            if active:
                return NOT_YET, state
            return (DONE if state == "canceled" else NEVER), state
        # spot.modify: cancel and re-place; the new order keeps the client id.
        key = target.key
        if "orderId" in key and str(order.get("id")) == key["orderId"]:
            if not active and order.get("clientOid"):
                # The old order is gone: the new one (if any) carries its client id.
                del key["orderId"]
                key["clientOid"] = str(order["clientOid"])
                return FOLLOW, state
            return NOT_YET, state
        wanted = [(n, o) for n, o in (("newPrice", "price"), ("newSize", "size"))]
        wanted = [(n, o) for n, o in wanted if target.item.get(n) not in (None, "")]
        if active and wanted and all(_same(target.item[n], order.get(o)) for n, o in wanted):
            return DONE, state
        return NOT_YET, state

    @staticmethod
    def item_result(op: str, target: Target, finding: Finding) -> Any:
        o = finding.order or {}
        kind = _OPS[op][2]
        if _OPS[op][0] == "uta":
            return _uta_result(kind, target, o)
        oid = None if o.get("id") is None else str(o["id"])
        coid = None if o.get("clientOid") in (None, "") else str(o["clientOid"])
        if kind is models.SpotModifyAck:
            return kind(newOrderId=oid, clientOid=coid)
        if kind is models.SpotCancelAck:
            by_id = "orderId" in target.key
            return kind(orderId=oid if by_id else None, clientOid=None if by_id else coid)
        if kind is models.FuturesCancelAck:
            if "orderId" in target.key:
                return kind(cancelledOrderIds=[oid] if oid else [])
            return kind(clientOid=coid)
        if kind in (models.SyncOrderAck, models.SyncCancelAck):
            fields: dict[str, Any] = dict(
                orderId=oid,
                clientOid=coid,
                originSize=_text(o.get("size")),
                dealSize=_text(o.get("dealSize")),
                remainSize=_text(o.get("remainSize")),
                canceledSize=_text(o.get("cancelledSize")),
                status="open" if _active(o) else "done",
            )
            if kind is models.SyncOrderAck:
                created = o.get("createdAt")
                fields["orderTime"] = created if isinstance(created, int) else None
            return kind(**fields)
        if kind is models.FuturesBatchOrderItem:
            return kind(orderId=oid, clientOid=coid, symbol=_text(o.get("symbol")), code=_SUCCESS)
        if kind is models.FuturesBatchCancelItem:
            return kind(orderId=oid, clientOid=coid, code=_SUCCESS)
        return kind(orderId=oid, clientOid=coid)

    @staticmethod
    def response(op: str, request_id: str | None, ws_key: str, items: list[Any]) -> Any:
        data: Any = items if op in _LIST_RESULT else items[0]
        return KucoinResponse(
            id=request_id or "",
            op=op,
            code=_SUCCESS,
            data=data,
            ws_key=ws_key,
            resolved_by="lookup",
        )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


# -- Unified Trading Account orders ------------------------------------------------------
def _uta_trade_type(item: Mapping[str, Any]) -> str:
    """The ``tradeType`` a UTA lookup names. ``uta.amend`` carries none: a symbol with a
    dash is a spot pair (BTC-USDT), one without a futures contract (XBTUSDTM)."""
    given = item.get("tradeType")
    if given:
        return str(given)
    return "SPOT" if "-" in str(item.get("symbol", "")) else "FUTURES"


def _dec(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def _uta_state(order: Mapping[str, Any]) -> str:
    """open / canceled / done, from the sizes KuCoin's UTA order details give
    (``size``, ``filledSize``, ``cancelSize``): the numeric ``status`` is not
    documented value by value, so okxkc does not read it."""
    if _dec(order.get("cancelSize")) > 0:
        return "canceled"
    size = _dec(order.get("size"))
    return "open" if size > 0 and _dec(order.get("filledSize")) < size else "done"


def _uta_effect(target: Target, order: Mapping[str, Any]) -> tuple[str, str]:
    state = _uta_state(order)
    if target.action == PLACE:
        return DONE, state
    if target.action == CANCEL:
        if state == "open":
            return NOT_YET, state
        return (DONE if state == "canceled" else NEVER), state
    key = target.key
    if "orderId" in key and state == "canceled" and order.get("clientOid"):
        # Should the amend have canceled and re-placed it, the new order keeps the
        # client id: look that up.
        del key["orderId"]
        key["clientOid"] = str(order["clientOid"])
        return FOLLOW, state
    wanted = [(n, o) for n, o in (("newPrice", "price"), ("newSize", "size"))]
    wanted = [(n, o) for n, o in wanted if target.item.get(n) not in (None, "")]
    if state == "open" and wanted and all(_same(target.item[n], order.get(o)) for n, o in wanted):
        return DONE, state
    return NOT_YET, state


def _uta_result(kind: type[Any], target: Target, o: Mapping[str, Any]) -> Any:
    oid = _text(o.get("orderId"))
    coid = None if o.get("clientOid") in (None, "") else str(o["clientOid"])
    if kind is models.UtaAmendAck:
        moved = "orderId" in target.item and target.item["orderId"] != oid
        return kind(orderId=oid, clientOid=coid, newOrderId=oid if moved else None)
    return kind(orderId=oid, clientOid=coid, tradeType=_text(o.get("tradeType")))

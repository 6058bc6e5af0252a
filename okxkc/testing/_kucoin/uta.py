"""KuCoin's UTA ops on the order book: ``uta.order``, ``uta.amend``, ``uta.cancel``.

Args are one JSON object, KuCoin's UTA REST bodies (``protocol/kucoin.md`` §9, which
names the source of each field: KuCoin's "Place Order" page examples, the Node SDK
kucoin-api's ``uta-types.ts`` and Kucoin.Net's UTA client). A reply's ``data`` is
``{"orderId", "clientOid"}``. UTA orders share the classic book: a UTA SPOT order is
a spot order, a UTA FUTURES order a futures order, found by the same REST look-ups.

Rules found in one source only, or guessed, are UNVERIFIED and only enforced with
``strict=True``: ``sizeUnit`` required, ``clientOid`` required for FUTURES and of
classic characters, ``GTT`` refused for FUTURES and ``RPI`` for SPOT, ``tags`` at most
20 characters. Always enforced: the fields every source marks required, the enums,
number formats, a duplicate open ``clientOid`` and an unknown order.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .book import Account, Book, Order
from .checks import (
    Check,
    args_obj,
    boolean,
    check_extras,
    enum_field,
    integer,
    invalid,
    missing,
    num,
)
from .ops import Handler
from .wire import (
    CLIENT_OID_RE,
    ID_REQUIRED,
    MSG_BAD_CLIENT_OID,
    MSG_ENUM,
    ORDER_NOT_FOUND,
    PARAM_ERROR,
    OpError,
    fmt,
)

# tradeType -> book market. The WS docs: "UTA does not support Margin yet"; the REST
# margin values are accepted only when a simulator lists them in ``trade_types``.
TRADE_TYPES: dict[str, str] = {
    "SPOT": "spot",
    "FUTURES": "futures",
    "ISOLATED": "margin",
    "CROSS": "margin",
    "MARGIN": "margin",
}
DEFAULT_TRADE_TYPES = ("SPOT", "FUTURES")
UTA_POOL = ("uta", 1)  # the Unified Account pool; the ops' weights are UNVERIFIED
UTA_OPS = ("uta.order", "uta.amend", "uta.cancel")

_SIDES = {"BUY": "buy", "SELL": "sell"}
_ORDER_TYPES = {"LIMIT": "limit", "MARKET": "market"}
_TIF = ("GTC", "IOC", "FOK", "GTT", "RPI")
_SIZE_UNITS = ("BASECCY", "QUOTECCY", "UNIT")
_PRICE_TYPES = ("TP", "IP", "MP")
MSG_AMEND_NOTHING = "Parameter error: newPrice or newSize is required"


def _upper_enum(allowed: tuple[str, ...]) -> Check:
    """An enum compared without case (Kucoin.Net writes some of them lower case)."""

    def check(args: dict[str, Any], field: str) -> None:
        v = args.get(field)
        if v is None or v == "":
            return
        if not isinstance(v, str) or v.upper() not in allowed:
            raise OpError(PARAM_ERROR, MSG_ENUM.format(field=field, allowed=", ".join(allowed)))

    return check


def _len(limit: int) -> Check:
    def check(args: dict[str, Any], field: str) -> None:
        v = args.get(field)
        if v is not None and (not isinstance(v, str) or len(v) > limit):
            raise invalid(field)

    return check


_EXTRAS: dict[str, Check] = {
    "cancelAfter": integer,
    "postOnly": boolean,
    "reduceOnly": boolean,
    "autoBorrow": boolean,
    "autoRepay": boolean,
    "closeOrder": boolean,
    "stp": _upper_enum(("DC", "CO", "CN", "CB")),
    "triggerPrice": num,
    "triggerDirection": _upper_enum(("UP", "DOWN")),
    "triggerPriceType": _upper_enum(_PRICE_TYPES),
    "tpTriggerPrice": num,
    "slTriggerPrice": num,
    "tpTriggerPriceType": _upper_enum(_PRICE_TYPES),
    "slTriggerPriceType": _upper_enum(_PRICE_TYPES),
    "positionSide": _upper_enum(("BOTH", "LONG", "SHORT")),
    "marginMode": _upper_enum(("ISOLATED", "CROSS")),
    "leverage": num,
    "brokerTag": _len(50),
}


def _mapped(args: dict[str, Any], field: str, table: dict[str, str]) -> str:
    v = args.get(field)
    if v is None or v == "":
        raise missing(field)
    if v not in table:
        raise OpError(PARAM_ERROR, MSG_ENUM.format(field=field, allowed=", ".join(table)))
    return table[v]


class UtaOps:
    """The three UTA ops over one :class:`Book`."""

    def __init__(
        self,
        book: Book,
        *,
        strict: bool = False,
        amend_replaces: bool = False,
        trade_types: tuple[str, ...] = DEFAULT_TRADE_TYPES,
    ) -> None:
        self.book = book
        self.strict = strict
        # Whether an amend keeps the order id (our default) or cancels and re-places
        # like spot.modify: UNVERIFIED.
        self.amend_replaces = amend_replaces
        self.trade_types = {t: TRADE_TYPES[t] for t in trade_types}

    def handlers(self) -> dict[str, tuple[Handler, str, int]]:
        pool, weight = UTA_POOL
        return {
            "uta.order": (self.order, pool, weight),
            "uta.amend": (self.amend, pool, weight),
            "uta.cancel": (self.cancel, pool, weight),
        }

    # -- helpers -------------------------------------------------------------------------------
    def _market(self, args: dict[str, Any]) -> str:
        return _mapped(args, "tradeType", self.trade_types)

    def _client_oid(self, args: dict[str, Any], market: str) -> str:
        v = args.get("clientOid")
        if v is None or v == "":
            if self.strict and market != "spot":
                raise missing("clientOid")
            return ""
        if not isinstance(v, str) or len(v) > 40:
            raise OpError(PARAM_ERROR, MSG_BAD_CLIENT_OID)
        if self.strict and CLIENT_OID_RE.match(v) is None:
            raise OpError(PARAM_ERROR, MSG_BAD_CLIENT_OID)
        return v

    @staticmethod
    def _ids(args: dict[str, Any]) -> tuple[str | None, str | None]:
        """(orderId, clientOid); one is needed, both may be given (then both must match)."""
        oid = args.get("orderId")
        coid = args.get("clientOid")
        oid = None if oid == "" else oid
        coid = None if coid == "" else coid
        if oid is None and coid is None:
            raise OpError(*ID_REQUIRED)
        if oid is not None and not isinstance(oid, str):
            raise invalid("orderId")
        if coid is not None and not isinstance(coid, str):
            raise invalid("clientOid")
        return oid, coid

    def _open_order(self, acct: Account, markets: tuple[str, ...], args: dict[str, Any]) -> Order:
        oid, coid = self._ids(args)
        symbol = args.get("symbol")
        if symbol is not None and symbol != "" and not isinstance(symbol, str):
            raise invalid("symbol")
        for market in markets:
            if oid is not None:
                o = acct.open[market].get(oid)
                if o is not None and coid is not None and o.client_oid != coid:
                    o = None
            else:
                o = acct.by_client_oid[market].get(coid or "")
            if o is not None and (not symbol or o.symbol == symbol):
                return o
        raise OpError(*ORDER_NOT_FOUND)

    # -- the ops -------------------------------------------------------------------------------
    def order(self, acct: Account, args: Any) -> Any:
        args = args_obj(args)
        market = self._market(args)
        symbol = self.book.symbol(args, market)
        side = _mapped(args, "side", _SIDES)
        type_ = _mapped(args, "orderType", _ORDER_TYPES)
        size = num(args, "size", integer=market == "futures" and args.get("sizeUnit") == "UNIT")
        if size is None:
            raise missing("size")
        unit = args.get("sizeUnit")
        if unit is None or unit == "":
            if self.strict:
                raise missing("sizeUnit")
            unit = "UNIT" if market == "futures" else "BASECCY"
        else:
            enum_field(args, "sizeUnit", _SIZE_UNITS)
        tif = enum_field(args, "timeInForce", _TIF, "GTC")
        if self.strict and (
            (market == "futures" and tif == "GTT") or (market != "futures" and tif == "RPI")
        ):
            raise invalid("timeInForce")
        tags = args.get("tags")
        if tags is not None and (not isinstance(tags, str) or (self.strict and len(tags) > 20)):
            raise invalid("tags")
        check_extras(args, _EXTRAS)
        if args.get("triggerPrice") not in (None, "") and args.get("triggerDirection") in (
            None,
            "",
        ):
            raise missing("triggerDirection")
        price = None
        if type_ == "limit":
            price = num(args, "price")
            if price is None:
                raise missing("price")
            if boolean(args, "postOnly") and tif in ("IOC", "FOK"):
                raise invalid("postOnly")
        coid = self._client_oid(args, market)
        self.book.check_dup(acct, market, coid)
        # The book's size fields: futures lots, base quantity or quote value (qty /
        # valueQty), spot base size or quote funds.
        funds = None
        size_field = "size"
        if market == "futures":
            size_field = {"UNIT": "size", "BASECCY": "qty", "QUOTECCY": "valueQty"}[unit]
        elif unit == "QUOTECCY":
            funds, size = size, None
        triggered = args.get("triggerPrice") not in (None, "")
        rests = (type_ == "limit" and tif in ("GTC", "GTT", "RPI")) or triggered
        o = self.book.new_order(
            acct,
            market,
            coid,
            symbol,
            side,
            type_,
            price,
            size,
            size_field,
            funds,
            tif,
            rests,
            args,
        )
        return {"orderId": o.order_id, "clientOid": o.client_oid}

    def amend(self, acct: Account, args: Any) -> Any:
        args = args_obj(args)
        if args.get("symbol") in (None, ""):
            raise missing("symbol")
        new_price = num(args, "newPrice")
        new_size = num(args, "newSize")
        tp, sl = num(args, "tpTriggerPrice"), num(args, "slTriggerPrice")
        markets = (
            (self._market(args),) if args.get("tradeType") else tuple(self.trade_types.values())
        )
        o = self._open_order(acct, markets, args)
        if new_price is None and new_size is None and tp is None and sl is None:
            raise OpError(PARAM_ERROR, MSG_AMEND_NOTHING)
        dealt = Decimal(o.deal)
        total = Decimal(new_size) if new_size is not None else Decimal(o.size or "0")
        if total <= dealt:
            # Like KuCoin's spot modify: a size at or below the filled size completes it.
            self.book.retire(acct, o, cancel=True)
            return {"orderId": o.order_id, "clientOid": o.client_oid}
        if self.amend_replaces:
            self.book.retire(acct, o, cancel=True)
            n = self.book.new_order(
                acct,
                o.market,
                o.client_oid,
                o.symbol,
                o.side,
                o.type,
                new_price or o.price,
                fmt(total - dealt),
                o.size_field,
                o.funds,
                o.tif,
                True,
                o.args,
            )
            return {"orderId": n.order_id, "clientOid": n.client_oid}
        if new_price is not None:
            o.price = new_price
        if new_size is not None:
            o.size = new_size
        o.updated = self.book.now()
        return {"orderId": o.order_id, "clientOid": o.client_oid}

    def cancel(self, acct: Account, args: Any) -> Any:
        args = args_obj(args)
        market = self._market(args)
        if self.strict and market == "futures" and args.get("symbol") in (None, ""):
            raise missing("symbol")
        o = self._open_order(acct, (market,), args)
        self.book.retire(acct, o, cancel=True)
        return {"orderId": o.order_id, "clientOid": o.client_oid}

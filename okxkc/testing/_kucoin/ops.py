"""The eleven classic KuCoin WS API ops on the order book: (account, args) -> data,
or :class:`OpError` with KuCoin's code."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from .book import Account, Book, Order
from .checks import (
    FUTURES_EXTRAS,
    SPOT_EXTRAS,
    args_obj,
    boolean,
    check_extras,
    client_oid,
    enum_field,
    integer,
    invalid,
    missing,
    num,
    opt_enum,
)
from .views import sync_view
from .wire import (
    FUTURES_TIF,
    ID_REQUIRED,
    MAX_BATCH,
    MSG_BATCH_TOO_LARGE,
    MSG_INVALID,
    MSG_ORDER_NOT_FOUND,
    OK,
    ORDER_EXPIRED,
    ORDER_NOT_FOUND,
    PARAM_ERROR,
    POOL_OF,
    SIDES,
    SPOT_TIF,
    TYPES,
    OpError,
    fmt,
)

Handler = Callable[[Account, Any], Any]


def _borrow_size(o: Order) -> str | None:
    if o.side == "sell":
        return o.size
    if o.funds is not None:
        return o.funds
    if o.price is not None and o.size is not None:
        return fmt(Decimal(o.price) * Decimal(o.size))
    return None


class ClassicOps:
    """``spot.*``, ``margin.*`` and ``futures.*`` ops over one :class:`Book`."""

    def __init__(self, book: Book) -> None:
        self.book = book

    def handlers(self) -> dict[str, tuple[Handler, str, int]]:
        """op -> (handler, rate-limit pool, weight)."""
        return {
            op: (getattr(self, "_op_" + op.replace(".", "_")), pool, weight)
            for op, (pool, weight) in POOL_OF.items()
        }

    # -- order placement -------------------------------------------------------------------------
    def _spot_order(self, acct: Account, args: Any, market: str) -> Order:
        args = args_obj(args)
        margin = market == "margin"
        symbol = self.book.symbol(args, market)
        side = enum_field(args, "side", SIDES)
        type_ = enum_field(args, "type", TYPES, "limit" if margin else None)
        coid = client_oid(args, required=margin)
        tif = enum_field(args, "timeInForce", SPOT_TIF, "GTC")
        post_only = boolean(args, "postOnly")
        check_extras(args, SPOT_EXTRAS)
        price = size = funds = None
        if type_ == "limit":
            price = num(args, "price")
            if price is None:
                raise missing("price")
            size = num(args, "size")
            if size is None:
                raise missing("size")
            if post_only and tif in ("IOC", "FOK"):
                raise invalid("postOnly")
        else:
            size = num(args, "size")
            funds = num(args, "funds")
            if (size is None) == (funds is None):
                raise OpError(
                    PARAM_ERROR, "Parameter error: exactly one of size or funds is required"
                )
        if not margin and args.get("allowMaxTimeWindow") is not None:
            window = integer(args, "allowMaxTimeWindow")
            sent = integer(args, "clientTimestamp")
            if sent is None:
                raise missing("clientTimestamp")
            if window is not None and sent + window < self.book.now():
                raise OpError(*ORDER_EXPIRED)
        self.book.check_dup(acct, market, coid)
        rests = type_ == "limit" and tif in ("GTC", "GTT")
        return self.book.new_order(
            acct,
            market,
            coid,
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

    def _futures_order(self, acct: Account, args: Any) -> Order:
        args = args_obj(args)
        symbol = self.book.symbol(args, "futures")
        side = enum_field(args, "side", SIDES)
        type_ = enum_field(args, "type", TYPES, "limit")
        coid = client_oid(args, required=True)
        tif = enum_field(args, "timeInForce", FUTURES_TIF, "GTC")
        post_only = boolean(args, "postOnly")
        close_order = boolean(args, "closeOrder")
        check_extras(args, FUTURES_EXTRAS)
        stop = args.get("stop")
        if stop is not None and stop != "":
            enum_field(args, "stop", ("down", "up"))
            opt_enum(args, "stopPriceType", ("TP", "MP", "IP"))
            if num(args, "stopPrice") is None:
                raise missing("stopPrice")
        given = [(f, num(args, f, integer=f == "size")) for f in ("size", "qty", "valueQty")]
        given = [(f, v) for f, v in given if v is not None]
        if len(given) > 1 or (not given and not close_order):
            raise OpError(
                PARAM_ERROR, "Parameter error: exactly one of size, qty or valueQty is required"
            )
        size_field, size = given[0] if given else ("size", None)
        price = None
        if type_ == "limit":
            price = num(args, "price")
            if price is None:
                raise missing("price")
            if post_only and tif == "IOC":
                raise invalid("postOnly")
        self.book.check_dup(acct, "futures", coid)
        # Untriggered stop orders rest whatever their type.
        rests = (type_ == "limit" and tif != "IOC") or bool(stop)
        return self.book.new_order(
            acct,
            "futures",
            coid,
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

    # -- the eleven ops: (account, args) -> data, or raise OpError ----------------------------
    def _op_spot_order(self, acct: Account, args: Any) -> Any:
        o = self._spot_order(acct, args, "spot")
        return {"orderId": o.order_id, "clientOid": o.client_oid}

    def _op_spot_sync_order(self, acct: Account, args: Any) -> Any:
        return sync_view(self._spot_order(acct, args, "spot"))

    def _op_margin_order(self, acct: Account, args: Any) -> Any:
        o = self._spot_order(acct, args, "margin")
        data: dict[str, Any] = {"orderId": o.order_id, "clientOid": o.client_oid}
        # KuCoin returns borrowSize and loanApplyId "only after placing the order under
        # the mode of Auto-Borrow". The simulated margin account holds nothing, so an
        # auto-borrow order borrows what it needs: a sell its size, a buy its cost
        # (price x size, or funds); a market buy by size has no price to borrow for.
        if args.get("autoBorrow") is True:
            borrow = _borrow_size(o)
            if borrow is not None:
                data["borrowSize"] = borrow
                data["loanApplyId"] = self.book.hex_id()
        return data

    def _cancel(self, acct: Account, args: Any, market: str) -> Any:
        o, oid, coid = self.book.target(acct, args, market)
        self.book.retire(acct, o, cancel=True)
        return {"orderId": oid} if oid is not None else {"clientOid": coid}

    def _op_spot_cancel(self, acct: Account, args: Any) -> Any:
        return self._cancel(acct, args, "spot")

    def _op_margin_cancel(self, acct: Account, args: Any) -> Any:
        return self._cancel(acct, args, "margin")

    def _op_spot_sync_cancel(self, acct: Account, args: Any) -> Any:
        o, oid, coid = self.book.target(acct, args, "spot")
        self.book.retire(acct, o, cancel=True)
        view: dict[str, Any] = {"orderId": oid} if oid is not None else {"clientOid": coid}
        view.update(
            originSize=o.size or "0",
            dealSize=o.deal,
            remainSize="0",
            canceledSize=o.canceled,
            status=o.status,
        )
        return view

    def _op_spot_modify(self, acct: Account, args: Any) -> Any:
        args = args_obj(args)
        new_price = num(args, "newPrice")
        new_size = num(args, "newSize")
        o, _oid, _coid = self.book.target(acct, args, "spot")
        if new_price is None and new_size is None:
            raise OpError(PARAM_ERROR, "Parameter error: newPrice or newSize is required")
        dealt = Decimal(o.deal)
        total = Decimal(new_size) if new_size is not None else Decimal(o.size or "0")
        self.book.retire(acct, o, cancel=True)
        if total <= dealt:
            # KuCoin: a new size at or below the filled size completes the order; nothing
            # new is placed, so there is no new id (our choice: null).
            return {"newOrderId": None, "clientOid": o.client_oid}
        n = self.book.new_order(
            acct,
            "spot",
            o.client_oid,
            o.symbol,
            o.side,
            o.type,
            new_price or o.price,
            fmt(total - dealt),
            "size",
            None,
            o.tif,
            True,
            o.args,
        )
        return {"newOrderId": n.order_id, "clientOid": n.client_oid}

    def _op_futures_order(self, acct: Account, args: Any) -> Any:
        o = self._futures_order(acct, args)
        return {"orderId": o.order_id, "clientOid": o.client_oid}

    def _op_futures_cancel(self, acct: Account, args: Any) -> Any:
        o, oid, _coid = self.book.target(acct, args, "futures", need_symbol=False)
        self.book.retire(acct, o, cancel=True)
        if oid is not None:
            return {"cancelledOrderIds": [oid]}
        return {"clientOid": o.client_oid}

    def _op_futures_multi_order(self, acct: Account, args: Any) -> Any:
        if not isinstance(args, list) or not args:
            raise OpError(PARAM_ERROR, MSG_INVALID.format(field="args"))
        if len(args) > MAX_BATCH:
            raise OpError(PARAM_ERROR, MSG_BATCH_TOO_LARGE.format(max=MAX_BATCH))
        out = []
        for item in args:
            sym = item.get("symbol") if isinstance(item, dict) else None
            coid = item.get("clientOid") if isinstance(item, dict) else None
            try:
                o = self._futures_order(acct, item)
            except OpError as e:
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

    def _op_futures_multi_cancel(self, acct: Account, args: Any) -> Any:
        args = args_obj(args)
        ids = args.get("orderIdsList")
        pairs = args.get("clientOidsList")
        if not ids and not pairs:
            raise OpError(*ID_REQUIRED)
        if ids is not None and not isinstance(ids, list):
            raise invalid("orderIdsList")
        if pairs is not None and not isinstance(pairs, list):
            raise invalid("clientOidsList")
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
            self.book.retire(acct, o, cancel=True)
            # Per-item success is "200"/"success" in KuCoin's REST example, not "200000".
            out.append({"orderId": oid, "clientOid": None, "code": "200", "msg": "success"})
        for pair in pairs or ():
            coid = pair.get("clientOid") if isinstance(pair, dict) else None
            try:
                o, _oid, _coid = self.book.target(acct, pair, "futures", need_symbol=False)
            except OpError as e:
                out.append({"orderId": None, "clientOid": coid, "code": e.code, "msg": e.msg})
                continue
            self.book.retire(acct, o, cancel=True)
            out.append({"orderId": None, "clientOid": coid, "code": "200", "msg": "success"})
        return out

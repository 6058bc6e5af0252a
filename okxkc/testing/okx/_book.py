"""The order book: instruments, orders, one account's books, and the REST rows of an order."""

from __future__ import annotations

import collections
from decimal import Decimal
from typing import Any

from ._checks import _fmt
from ._wire import _PENDING


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


# -- REST order rows -------------------------------------------------------------------------
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

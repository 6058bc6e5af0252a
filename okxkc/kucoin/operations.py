"""THE KuCoin operation table: one row per WS API op. Facades are generated from it.

``args`` are the bodies of the matching REST endpoints ("same as RestAPI"), so
the field names, kinds and limits are those of KuCoin's REST docs: clientOid is
letters, digits, ``_`` and ``-``, at most 40; futures batches take at most 20.
A rule that is not plain from the field's description names its source in
``source=`` (or in a comment next to an op-level rule).
"""

from __future__ import annotations

from .._ops import Kind, Operation, Param

__all__ = ["FUTURES", "OPERATIONS", "SPOT"]

SPOT = "spot"
FUTURES = "futures"


def _client_oid(required: bool = False) -> Param:
    return Param(
        "clientOid",
        required=required,
        pattern=r"[A-Za-z0-9_-]{1,40}",
        pattern_text="must be 1-40 letters, digits, '_' or '-'",
        doc="Client order ID",
    )


def _ascii(name: str, size: int) -> Param:
    return Param(
        name,
        pattern=f"[\\x00-\\x7f]{{0,{size}}}",
        pattern_text=f"must be at most {size} ASCII characters",
        source=f"KuCoin docs, HF place order: {name} at most {size} characters (ASCII)",
    )


_SIDE = Param("side", required=True, choices=("buy", "sell"))
_SYMBOL = Param("symbol", required=True, doc="e.g. BTC-USDT")
_TIF = Param("timeInForce", choices=("GTC", "GTT", "IOC", "FOK"), default="GTC")
_COMMON_LIMIT = (
    Param("price", Kind.DEC, positive=True),
    Param("size", Kind.DEC, positive=True),
    Param("funds", Kind.DEC, positive=True, doc="Quote amount (market orders)"),
    _TIF,
    Param(
        "cancelAfter",
        Kind.INT,
        min=-1,
        doc="Seconds, with timeInForce GTT; -1: never (the default)",
        source="KuCoin docs, HF place order: -1 means never cancelled, the default",
    ),
    Param("postOnly", Kind.BOOL),
    Param("hidden", Kind.BOOL),
    Param("iceberg", Kind.BOOL),
    Param("visibleSize", Kind.DEC, positive=True),
)
_SPOT_ORDER = (
    _SYMBOL,
    _SIDE,
    Param("type", required=True, choices=("limit", "market")),
    _client_oid(),
    *_COMMON_LIMIT,
    Param("stp", choices=("DC", "CO", "CN", "CB")),
    _ascii("remark", 20),
    _ascii("tags", 20),
    Param(
        "allowMaxTimeWindow",
        Kind.INT,
        positive=True,
        doc="ms; the order fails if it reaches the gateway later",
        # The order fails when clientTimestamp + allowMaxTimeWindow is earlier than the
        # gateway's receive time: a window of 0 or less fails every order.
        source="KuCoin docs, HF place order: clientTimestamp + allowMaxTimeWindow",
    ),
    Param(
        "clientTimestamp",
        Kind.INT,
        positive=True,
        doc="ms; filled in at sending when allowMaxTimeWindow is set",
    ),
)
# Limit orders need price and size, market orders size or funds (KuCoin docs, HF place
# order and margin HF order; a margin order's type is limit when left out).
_SPOT_REQUIRED_IF = (
    ("type", ("limit",), ("price",)),
    ("type", ("limit",), ("size",)),
    ("type", ("market",), ("size", "funds")),
)
_SIZE_OR_FUNDS = (("size", "funds"),)
_CANCEL = (_SYMBOL, Param("orderId"), _client_oid())
_IDS = ("orderId", "clientOid")

# KuCoin docs, futures place order: with closeOrder=true the whole position is closed
# and "Side, Size and Leverage fields can be left empty".
_CLOSE = "closeOrder"
_FUTURES_ORDER = (
    _client_oid(required=True),
    Param("side", choices=("buy", "sell"), doc="Required unless closeOrder is true"),
    Param("symbol", required=True, doc="e.g. XBTUSDTM"),
    Param("leverage", Kind.INT, positive=True),
    Param("type", choices=("limit", "market"), default="limit"),
    Param("remark", max_len=100),
    Param("stop", choices=("down", "up")),
    Param("stopPriceType", choices=("TP", "MP", "IP")),
    Param("stopPrice", Kind.DEC, positive=True),
    Param("reduceOnly", Kind.BOOL),
    Param(_CLOSE, Kind.BOOL, default=False, doc="Close the position (side and size optional)"),
    Param("forceHold", Kind.BOOL),
    Param("stp", choices=("CN", "CO", "CB")),
    Param("marginMode", choices=("ISOLATED", "CROSS")),
    Param("price", Kind.DEC, positive=True),
    Param("size", Kind.INT, positive=True, doc="Lots"),
    Param("qty", Kind.DEC, positive=True, doc="Base-currency quantity"),
    Param("valueQty", Kind.DEC, positive=True, doc="Quote value"),
    Param("timeInForce", choices=("GTC", "IOC", "RPI"), default="GTC"),
    Param("postOnly", Kind.BOOL),
    Param("hidden", Kind.BOOL),
    Param("iceberg", Kind.BOOL),
    Param("visibleSize", Kind.DEC, positive=True),
    Param("positionSide", choices=("BOTH", "LONG", "SHORT")),
)
_FUTURES_EXCLUSIVE = (("size", "qty", "valueQty"),)
_FUTURES_REQUIRED_IF = (
    ("type", ("limit",), ("price",)),  # type defaults to limit
    # KuCoin docs, futures place order: "If stop is set, need to set stopPrice and
    # stopPriceType".
    ("stop", (), ("stopPrice",)),
    ("stop", (), ("stopPriceType",)),
)
_FUTURES_REQUIRED_UNLESS = (
    (_CLOSE, (True,), ("side",)),
    (_CLOSE, (True,), ("size", "qty", "valueQty")),
)

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "submit_new_spot_order",
        "spot.order",
        SPOT,
        _SPOT_ORDER,
        "SpotOrderAck",
        "Place one spot (HF) order; returns once accepted.",
        required_if=_SPOT_REQUIRED_IF,
        exclusive=_SIZE_OR_FUNDS,
    ),
    Operation(
        "modify_spot_order",
        "spot.modify",
        SPOT,
        (
            _SYMBOL,
            Param("orderId"),
            _client_oid(),
            Param("newPrice", Kind.DEC, positive=True),
            Param("newSize", Kind.DEC, positive=True),
        ),
        "SpotModifyAck",
        "Modify a spot order (cancel and replace); returns the new order id.",
        one_of=(_IDS, ("newPrice", "newSize")),
        exclusive=(_IDS,),
    ),
    Operation(
        "cancel_spot_order",
        "spot.cancel",
        SPOT,
        _CANCEL,
        "SpotCancelAck",
        "Cancel one spot order by orderId or clientOid; returns once accepted.",
        one_of=(_IDS,),
        exclusive=(_IDS,),
    ),
    Operation(
        "submit_sync_spot_order",
        "spot.sync_order",
        SPOT,
        _SPOT_ORDER,
        "SyncOrderAck",
        "Place one spot order and wait for matching: returns sizes and status.",
        required_if=_SPOT_REQUIRED_IF,
        exclusive=_SIZE_OR_FUNDS,
    ),
    Operation(
        "cancel_sync_spot_order",
        "spot.sync_cancel",
        SPOT,
        _CANCEL,
        "SyncCancelAck",
        "Cancel one spot order and wait: returns sizes and status.",
        one_of=(_IDS,),
        exclusive=(_IDS,),
    ),
    Operation(
        "submit_margin_order",
        "margin.order",
        SPOT,
        (
            _client_oid(required=True),
            _SIDE,
            _SYMBOL,
            Param("type", choices=("limit", "market"), default="limit"),
            Param("stp", choices=("DC", "CO", "CN", "CB")),
            *_COMMON_LIMIT,
            Param("isIsolated", Kind.BOOL, doc="False: cross margin (default)"),
            Param("autoBorrow", Kind.BOOL),
            Param("autoRepay", Kind.BOOL),
        ),
        "MarginOrderAck",
        "Place one margin (HF) order (classic accounts).",
        required_if=_SPOT_REQUIRED_IF,  # type defaults to limit
        exclusive=_SIZE_OR_FUNDS,
    ),
    Operation(
        "cancel_margin_order",
        "margin.cancel",
        SPOT,
        _CANCEL,
        "SpotCancelAck",
        "Cancel one margin order by orderId or clientOid.",
        one_of=(_IDS,),
        exclusive=(_IDS,),
    ),
    Operation(
        "submit_futures_order",
        "futures.order",
        FUTURES,
        _FUTURES_ORDER,
        "FuturesOrderAck",
        "Place one futures order.",
        exclusive=_FUTURES_EXCLUSIVE,
        required_if=_FUTURES_REQUIRED_IF,
        required_unless=_FUTURES_REQUIRED_UNLESS,
    ),
    Operation(
        "cancel_futures_order",
        "futures.cancel",
        FUTURES,
        (Param("orderId"), _client_oid(), Param("symbol", doc="Required with clientOid")),
        "FuturesCancelAck",
        "Cancel one futures order by orderId, or by clientOid and symbol.",
        one_of=(_IDS,),
        exclusive=(_IDS,),
        required_if=(("clientOid", (), ("symbol",)),),
    ),
    Operation(
        "submit_multiple_futures_orders",
        "futures.multi_order",
        FUTURES,
        _FUTURES_ORDER,
        "FuturesBatchOrderItem",
        "Place up to 20 futures orders in one request; items succeed or fail independently.",
        batch=True,
        max_items=20,
        # clientOid names one order ("a unique ID created by the user").
        unique=("clientOid",),
        exclusive=_FUTURES_EXCLUSIVE,
        required_if=_FUTURES_REQUIRED_IF,
        required_unless=_FUTURES_REQUIRED_UNLESS,
    ),
    Operation(
        "cancel_multiple_futures_orders",
        "futures.multi_cancel",
        FUTURES,
        (
            Param("orderIdsList", Kind.STRLIST, doc="Order ids"),
            Param(
                "clientOidsList",
                Kind.LIST,
                items=(Param("symbol", required=True), _client_oid(required=True)),
                doc="[{symbol, clientOid}, ...]",
            ),
        ),
        "FuturesBatchCancelItem",
        "Cancel several futures orders by order ids and/or (symbol, clientOid) pairs.",
        one_of=(("orderIdsList", "clientOidsList"),),
        result_is_list=True,
    ),
)

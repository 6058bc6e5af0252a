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

# -- Unified Trading Account: uta.order / uta.amend / uta.cancel -----------------------
# args is one object: KuCoin's UTA REST bodies ("Place Order", "Amend Order", "Cancel
# Order" of the unified account; the official SDK kucoin-universal-sdk 1.3.2 sends them
# as given and checks only that amend/cancel name an order). Fields, types and enums
# as KuCoin's docs examples, the Node SDK kucoin-api (uta-types.ts) and Kucoin.Net's
# unified client give them. A rule only one of those has is UNVERIFIED and left to the
# exchange: sizeUnit optional, clientOid optional for every tradeType with only its
# length checked, GTT / RPI not tied to a tradeType, no length limit on tags.
_KA = "kucoin-api uta-types.ts"
_KN = "Kucoin.Net unified client"
_UTA_PRICE_TYPES = ("TP", "IP", "MP")
_UTA_TRADE_TYPE = Param(
    "tradeType",
    required=True,
    choices=("SPOT", "FUTURES", "ISOLATED", "CROSS", "MARGIN"),
    doc="SPOT or FUTURES (the margin values are REST's; the WS docs: no UTA margin yet)",
    source=f"KuCoin docs examples; ISOLATED/CROSS REST, MARGIN {_KA}",
)
_UTA_CLIENT_OID = Param(
    "clientOid",
    max_len=40,
    doc="Client order ID (required for FUTURES per kucoin-api: UNVERIFIED)",
    source=f"{_KA}: at most 40; the classic character set is UNVERIFIED for UTA",
)
_UTA_TP_SL = (
    Param("tpTriggerPrice", Kind.DEC, positive=True, doc="Attached take-profit trigger"),
    Param("slTriggerPrice", Kind.DEC, positive=True, doc="Attached stop-loss trigger"),
    Param("tpTriggerPriceType", choices=_UTA_PRICE_TYPES),
    Param("slTriggerPriceType", choices=_UTA_PRICE_TYPES),
)
_UTA_SIZE_UNIT = Param(
    "sizeUnit",
    choices=("BASECCY", "QUOTECCY", "UNIT"),
    doc="Unit of size: base, quote, or contracts (futures)",
    source=f"{_KA} (required there, optional in {_KN}: UNVERIFIED, so optional here)",
)
_UTA_ORDER = (
    _UTA_TRADE_TYPE,
    Param("symbol", required=True, doc="BTC-USDT (spot), XBTUSDTM (futures)"),
    Param("side", required=True, choices=("BUY", "SELL")),
    Param("orderType", required=True, choices=("LIMIT", "MARKET")),
    Param("size", Kind.DEC, required=True, positive=True, doc="In sizeUnit"),
    _UTA_SIZE_UNIT,
    _UTA_CLIENT_OID,
    Param("price", Kind.DEC, positive=True, doc="Required for LIMIT"),
    Param(
        "timeInForce",
        choices=("GTC", "IOC", "FOK", "GTT", "RPI"),
        default="GTC",
        doc="GTT not for FUTURES, RPI futures only (kucoin-api)",
    ),
    Param(
        "cancelAfter",
        Kind.INT,
        min=-1,
        doc="Seconds, with GTT",
        source="as the classic ops (-1: never); UNVERIFIED for UTA",
    ),
    Param("postOnly", Kind.BOOL),
    Param("reduceOnly", Kind.BOOL, doc="Futures"),
    Param("stp", choices=("DC", "CO", "CN", "CB")),
    Param("tags", doc="At most 20 characters per kucoin-api (UNVERIFIED)"),
    Param("triggerPrice", Kind.DEC, positive=True, doc="Conditional order trigger"),
    Param("triggerDirection", choices=("UP", "DOWN"), source="KuCoin docs examples"),
    Param("triggerPriceType", choices=_UTA_PRICE_TYPES),
    *_UTA_TP_SL,
    Param("positionSide", choices=("BOTH", "LONG", "SHORT")),
    Param("marginMode", choices=("ISOLATED", "CROSS")),
    Param("leverage", Kind.DEC, positive=True, source=f"a number in {_KA} and {_KN}"),
    Param("autoBorrow", Kind.BOOL),
    Param("autoRepay", Kind.BOOL),
    Param("closeOrder", Kind.BOOL, doc="Close the position"),
    Param("brokerTag", max_len=50, source=_KA),
)
_UTA_AMEND = (
    Param("symbol", required=True),
    Param("orderId"),
    _UTA_CLIENT_OID,
    Param("newPrice", Kind.DEC, positive=True),
    Param("newSize", Kind.DEC, positive=True),
    Param("sizeUnit", choices=("BASECCY", "QUOTECCY", "UNIT"), source=f"{_KN} only"),
    Param("cxlOnFail", Kind.BOOL, doc="Cancel the order if the amend fails", source=_KN),
    *_UTA_TP_SL,
)
_UTA_CANCEL = (
    _UTA_TRADE_TYPE,
    Param("symbol", doc="Required for FUTURES per kucoin-api (UNVERIFIED)"),
    Param("orderId"),
    _UTA_CLIENT_OID,
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
    Operation(
        "submit_uta_order",
        "uta.order",
        SPOT,
        _UTA_ORDER,
        "UtaOrderAck",
        "Place one Unified Trading Account order (spot or futures, by tradeType).",
        required_if=(
            ("orderType", ("LIMIT",), ("price",)),
            # KuCoin docs examples: a conditional order gives both.
            ("triggerPrice", (), ("triggerDirection",)),
        ),
    ),
    Operation(
        "amend_uta_order",
        "uta.amend",
        SPOT,
        _UTA_AMEND,
        "UtaAmendAck",
        "Amend the price, size or attached TP/SL of one Unified Trading Account order.",
        one_of=(
            # kucoin-universal-sdk refuses an amend naming no order.
            ("orderId", "clientOid"),
            # What an amend changes: no other amendable field exists in either client.
            ("newPrice", "newSize", "tpTriggerPrice", "slTriggerPrice"),
        ),
    ),
    Operation(
        "cancel_uta_order",
        "uta.cancel",
        SPOT,
        _UTA_CANCEL,
        "UtaCancelAck",
        "Cancel one Unified Trading Account order by orderId or clientOid.",
        one_of=(("orderId", "clientOid"),),  # as kucoin-universal-sdk checks it
    ),
)

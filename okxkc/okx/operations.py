"""THE OKX operation table: one row per WS API op. Facades are generated from it.

Field names, kinds and limits follow OKX's docs for each op (the WS API pages
"Place order", "Amend order", "Mass cancel", "Spread trading: place order", ...):
``id``-like fields are case-sensitive alphanumerics, ``clOrdId`` and ``reqId`` at
most 32, ``tag`` at most 16; batches take at most 20 items. A rule that is not
plain from the field's description names its source in ``source=``.
"""

from __future__ import annotations

from decimal import Decimal

from .._ops import Kind, Operation, Param

__all__ = ["BUSINESS", "OPERATIONS", "PRIVATE"]

PRIVATE = "private"
BUSINESS = "business"


def _alnum(name: str, size: int, doc: str = "") -> Param:
    """A case-sensitive alphanumeric id field of at most ``size`` characters."""
    return Param(
        name,
        pattern=f"[A-Za-z0-9]{{1,{size}}}",
        pattern_text=f"must be 1-{size} letters and digits",
        doc=doc,
    )


# Spot, margin, swap, futures and option prices are positive (a negative one can only be
# a typo); spread prices may be negative, so the sprd-* ops leave them signed.
_POSITIVE_PX = "prices of OKX instruments are positive; only spread prices may be negative"

_LIMIT_TYPES = ("limit", "post_only", "fok", "ioc", "mmp", "mmp_and_post_only", "elp", "rpi")
_PRICES = ("px", "pxUsd", "pxVol")

_INSTRUMENT = (
    Param("instId", doc="Instrument ID, e.g. BTC-USDT (resolved to instIdCode)"),
    Param("instIdCode", Kind.INT, doc="Instrument ID code (wins over instId)"),
)

_PLACE = (
    *_INSTRUMENT,
    Param(
        "tdMode",
        required=True,
        choices=("cash", "cross", "isolated", "spot_isolated"),
        doc="Trade mode",
    ),
    Param("side", required=True, choices=("buy", "sell")),
    Param(
        "ordType",
        required=True,
        choices=(
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
        ),
    ),
    Param("sz", Kind.DEC, required=True, positive=True, doc="Quantity"),
    Param("px", Kind.DEC, positive=True, doc="Price (limit-type orders)", source=_POSITIVE_PX),
    Param("pxUsd", Kind.DEC, positive=True, doc="Option price in USD", source=_POSITIVE_PX),
    Param(
        "pxVol",
        Kind.DEC,
        positive=True,
        doc="Option price in implied volatility",
        source=_POSITIVE_PX,
    ),
    Param("posSide", choices=("net", "long", "short")),
    Param("ccy", doc="Margin currency"),
    _alnum("clOrdId", 32, "Client order ID"),
    _alnum("tag", 16, "Order tag (sent as given)"),
    Param("reduceOnly", Kind.BOOL),
    Param("tgtCcy", choices=("base_ccy", "quote_ccy")),
    Param("banAmend", Kind.BOOL),
    Param("pxAmendType", choices=("0", "1")),
    Param("tradeQuoteCcy"),
    Param(
        "slippagePct",
        Kind.DEC,
        min=0,
        max=Decimal("0.05"),
        doc="Market-order slippage limit, 0 to 0.05",
        source="OKX docs, Place order: slippagePct from 0 to 0.05",
    ),
    Param("stpMode", choices=("cancel_maker", "cancel_taker", "cancel_both")),
    Param("isElpTakerAccess", Kind.BOOL),
    Param("rpiTakerAccess", Kind.BOOL),
    Param("speedBump", choices=("0", "1")),
    Param("outcome", choices=("yes", "no")),
    Param("attachAlgoOrds", Kind.LIST, doc="Attached TP/SL orders"),
)

_CANCEL = (
    *_INSTRUMENT,
    Param("ordId"),
    _alnum("clOrdId", 32),
)

_AMEND = (
    *_INSTRUMENT,
    Param("ordId"),
    _alnum("clOrdId", 32),
    Param("cxlOnFail", Kind.BOOL, doc="Cancel the order if the amend fails"),
    _alnum("reqId", 32, "Client amend request ID"),
    Param("newSz", Kind.DEC, positive=True, source="OKX docs, Amend order: newSz > 0"),
    Param("newPx", Kind.DEC, positive=True, source=_POSITIVE_PX),
    Param("newPxUsd", Kind.DEC, positive=True, source=_POSITIVE_PX),
    Param("newPxVol", Kind.DEC, positive=True, source=_POSITIVE_PX),
    Param("pxAmendType", choices=("0", "1")),
    Param("attachAlgoOrds", Kind.LIST),
)

_INST = ("instId", "instIdCode")
_IDS = ("ordId", "clOrdId")
_NEW = ("newSz", "newPx", "newPxUsd", "newPxVol")
_NEEDS_PX = (("ordType", _LIMIT_TYPES, _PRICES),)

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "submit_new_order",
        "order",
        PRIVATE,
        _PLACE,
        "OrderAck",
        "Place one order.",
        one_of=(_INST,),
        required_if=_NEEDS_PX,
        exclusive=(_PRICES,),
        exp_time=True,
        needs_instrument_code=True,
    ),
    Operation(
        "submit_multiple_orders",
        "batch-orders",
        PRIVATE,
        _PLACE,
        "OrderAck",
        "Place up to 20 orders in one request; items may succeed or fail independently.",
        batch=True,
        max_items=20,
        # OKX docs, Place multiple orders: clOrdId unique "within the request".
        unique=("clOrdId",),
        one_of=(_INST,),
        required_if=_NEEDS_PX,
        exclusive=(_PRICES,),
        exp_time=True,
        needs_instrument_code=True,
    ),
    Operation(
        "cancel_order",
        "cancel-order",
        PRIVATE,
        _CANCEL,
        "CancelAck",
        "Cancel one order by ordId or clOrdId (sCode 0 = cancel accepted).",
        one_of=(_INST, _IDS),
        needs_instrument_code=True,
    ),
    Operation(
        "cancel_multiple_orders",
        "batch-cancel-orders",
        PRIVATE,
        _CANCEL,
        "CancelAck",
        "Cancel up to 20 orders in one request.",
        batch=True,
        max_items=20,
        one_of=(_INST, _IDS),
        needs_instrument_code=True,
    ),
    Operation(
        "amend_order",
        "amend-order",
        PRIVATE,
        _AMEND,
        "AmendAck",
        "Amend the size and/or price of one live order (sCode 0 = amend accepted).",
        one_of=(_INST, _IDS, _NEW),
        exp_time=True,
        needs_instrument_code=True,
    ),
    Operation(
        "amend_multiple_orders",
        "batch-amend-orders",
        PRIVATE,
        _AMEND,
        "AmendAck",
        "Amend up to 20 orders in one request.",
        batch=True,
        max_items=20,
        one_of=(_INST, _IDS, _NEW),
        exp_time=True,
        needs_instrument_code=True,
    ),
    Operation(
        "mass_cancel_orders",
        "mass-cancel",
        PRIVATE,
        (
            Param("instType", required=True, choices=("OPTION",)),
            Param("instFamily", required=True, doc="e.g. BTC-USD"),
            Param(
                "lockInterval",
                Kind.DEC,
                min=0,
                max=10000,
                integral=True,
                doc="Lock after the cancel, ms in [0, 10000] (sent as a string)",
                source="OKX docs, Mass cancel: lockInterval range [0, 10000] ms",
            ),
        ),
        "MassCancelAck",
        "Cancel all MMP pending orders of an instrument family (options, portfolio margin).",
    ),
    Operation(
        "submit_spread_order",
        "sprd-order",
        BUSINESS,
        (
            Param("sprdId", required=True, doc="Spread ID, e.g. BTC-USDT_BTC-USDT-SWAP"),
            _alnum("clOrdId", 32),
            _alnum("tag", 16),
            Param("side", required=True, choices=("buy", "sell")),
            Param("ordType", required=True, choices=("market", "limit", "post_only", "ioc")),
            Param("sz", Kind.DEC, required=True, positive=True),
            Param("px", Kind.DEC, doc="Spread price; may be negative"),
        ),
        "SpreadOrderAck",
        "Place one spread order.",
        required_if=(("ordType", ("limit", "post_only", "ioc"), ("px",)),),
    ),
    Operation(
        "amend_spread_order",
        "sprd-amend-order",
        BUSINESS,
        (
            Param("ordId"),
            _alnum("clOrdId", 32),
            _alnum("reqId", 32),
            Param("newSz", Kind.DEC, positive=True),
            Param("newPx", Kind.DEC, doc="Spread price; may be negative"),
        ),
        "SpreadAmendAck",
        "Amend one spread order.",
        one_of=(("ordId", "clOrdId"), ("newSz", "newPx")),
    ),
    Operation(
        "cancel_spread_order",
        "sprd-cancel-order",
        BUSINESS,
        (Param("ordId"), _alnum("clOrdId", 32)),
        "SpreadCancelAck",
        "Cancel one spread order.",
        one_of=(("ordId", "clOrdId"),),
    ),
    Operation(
        "mass_cancel_spread_orders",
        "sprd-mass-cancel",
        BUSINESS,
        (Param("sprdId", doc="Only this spread (default: all)"),),
        "MassCancelAck",
        "Cancel all pending spread orders (optionally of one spread).",
    ),
)

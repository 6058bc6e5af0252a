"""Orders as KuCoin's REST and sync ops show them (sources in docs/simulators.md)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .book import Order
from .wire import ZERO, fmt


def _flag(args: dict[str, Any], field: str) -> bool:
    return args.get(field) is True


def _text(args: dict[str, Any], field: str, default: str = "") -> str:
    v = args.get(field)
    return default if v is None or v == "" else str(v)


def spot_view(o: Order) -> dict[str, Any]:
    """A spot or margin HF order as KuCoin's REST "get order" answers it (see
    docs/simulators.md for the sources); fees and funds are not simulated ("0")."""
    a = o.args
    open_ = o.status == "open"
    deal = Decimal(o.deal)
    price = Decimal(o.price) if o.price else ZERO
    # A market order by funds fills its funds in full.
    by_funds = o.funds is not None and not open_ and deal == 0
    deal_funds = o.funds if by_funds and o.funds else fmt(deal * price)
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
        "cancelledFunds": fmt(canceled * price),
        "remainSize": fmt(o.remaining()),
        "remainFunds": fmt(o.remaining() * price),
    }


def _lots(v: str | None) -> int | str | None:
    """Futures sizes are integers of lots on KuCoin; a qty/valueQty order keeps its text."""
    if v is None:
        return None
    d = Decimal(v)
    return int(d) if d == d.to_integral_value() else v


def futures_view(o: Order) -> dict[str, Any]:
    """A futures order as KuCoin's REST "get order" answers it (docs/simulators.md)."""
    a = o.args
    open_ = o.status == "open"
    price = Decimal(o.price) if o.price else ZERO
    size = Decimal(o.size) if o.size else ZERO
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
        "value": fmt(size * price),
        "dealValue": fmt(deal * price),
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
        "filledValue": fmt(deal * price),
        "status": o.status,
        "reduceOnly": _flag(a, "reduceOnly"),
    }


def sync_view(o: Order) -> dict[str, Any]:
    """What ``spot.sync_order`` answers: the order right after matching."""
    return {
        "orderId": o.order_id,
        "clientOid": o.client_oid,
        "orderTime": o.created,
        "originSize": o.size or "0",
        "dealSize": o.deal,
        "remainSize": fmt(o.remaining()),
        "canceledSize": o.canceled,
        "status": o.status,
        "matchTime": o.match_time,
    }

"""KuCoin results as msgspec Structs, with KuCoin's own field names.

Unknown fields are ignored and every field is optional, so a new or missing
exchange field never breaks a user; ``to_dict()`` gives the JSON dict back.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec

__all__ = [
    "FuturesBatchCancelItem",
    "FuturesBatchOrderItem",
    "FuturesCancelAck",
    "FuturesOrderAck",
    "KucoinResponse",
    "MarginOrderAck",
    "RateLimit",
    "SpotCancelAck",
    "SpotModifyAck",
    "SpotOrderAck",
    "SyncCancelAck",
    "SyncOrderAck",
    "UtaAmendAck",
    "UtaCancelAck",
    "UtaOrderAck",
]


class _Item(msgspec.Struct, frozen=True, kw_only=True):
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = msgspec.to_builtins(self)
        return out


class SpotOrderAck(_Item, frozen=True, kw_only=True):
    orderId: str | None = None
    clientOid: str | None = None


class SpotModifyAck(_Item, frozen=True, kw_only=True):
    newOrderId: str | None = None
    clientOid: str | None = None


class SpotCancelAck(_Item, frozen=True, kw_only=True):
    """Spot or margin cancel: carries the identifier the cancel used."""

    orderId: str | None = None
    clientOid: str | None = None


class SyncOrderAck(_Item, frozen=True, kw_only=True):
    """``spot.sync_order``: the order after matching (``status`` ``open`` or ``done``)."""

    orderId: str | None = None
    clientOid: str | None = None
    orderTime: int | None = None
    originSize: str | None = None
    dealSize: str | None = None
    remainSize: str | None = None
    canceledSize: str | None = None
    status: str | None = None
    matchTime: int | None = None


class SyncCancelAck(_Item, frozen=True, kw_only=True):
    orderId: str | None = None
    clientOid: str | None = None
    originSize: str | None = None
    dealSize: str | None = None
    remainSize: str | None = None
    canceledSize: str | None = None
    status: str | None = None


class MarginOrderAck(_Item, frozen=True, kw_only=True):
    orderId: str | None = None
    clientOid: str | None = None
    borrowSize: str | None = None
    loanApplyId: str | None = None


class FuturesOrderAck(_Item, frozen=True, kw_only=True):
    orderId: str | None = None
    clientOid: str | None = None


class FuturesCancelAck(_Item, frozen=True, kw_only=True):
    """By orderId: ``cancelledOrderIds``; by clientOid: ``clientOid``."""

    cancelledOrderIds: list[str] | None = None
    clientOid: str | None = None


class FuturesBatchOrderItem(_Item, frozen=True, kw_only=True):
    """One item of ``futures.multi_order``; ``ok`` when ``code`` is a success code."""

    orderId: str | None = None
    clientOid: str | None = None
    symbol: str | None = None
    code: str | None = None
    msg: str | None = None

    @property
    def ok(self) -> bool:
        return self.code in (None, "200000", "200")


class FuturesBatchCancelItem(_Item, frozen=True, kw_only=True):
    orderId: str | None = None
    clientOid: str | None = None
    code: str | None = None
    msg: str | None = None

    @property
    def ok(self) -> bool:
        return self.code in (None, "200000", "200")


class UtaOrderAck(_Item, frozen=True, kw_only=True):
    """``uta.order``: the new order's ids. The REST twin also returns ``tradeType`` and
    ``ts``; whether the socket reply carries them is not documented."""

    orderId: str | None = None
    clientOid: str | None = None
    tradeType: str | None = None
    ts: int | str | None = None


class UtaAmendAck(_Item, frozen=True, kw_only=True):
    """``uta.amend``: the amended order's ids (``newOrderId`` should the exchange
    cancel and re-place, as ``spot.modify`` does; not documented either way)."""

    orderId: str | None = None
    clientOid: str | None = None
    newOrderId: str | None = None


class UtaCancelAck(_Item, frozen=True, kw_only=True):
    """``uta.cancel``: accepted; the ids of the order it cancels."""

    orderId: str | None = None
    clientOid: str | None = None
    tradeType: str | None = None
    ts: int | str | None = None


class RateLimit(msgspec.Struct, frozen=True, kw_only=True):
    """The resource pool quota KuCoin reports with every reply (``reset`` in ms)."""

    limit: int | None = None
    reset: int | None = None
    remaining: int | None = None


T = TypeVar("T")


class KucoinResponse(msgspec.Struct, Generic[T], frozen=True, kw_only=True):
    """The reply to one request, plus the ws key it travelled on.

    ``inTime`` / ``outTime``: gateway receive / send times (ms, or ns with
    ``enable_ns``). ``rate_limit``: the remaining quota of the op's pool.
    """

    id: str
    op: str
    code: str
    data: T
    msg: str | None = None
    inTime: int | None = None
    outTime: int | None = None
    rate_limit: RateLimit | None = None
    ws_key: str = ""
    #: ``"lookup"`` when the reply was lost and okxkc found the outcome over REST
    #: (``resolve_unknown``); ``None`` for an ordinary reply.
    resolved_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The exchange's JSON reply as a dict (rate limit as ``userRateLimit``, plus ``wsKey``)."""
        out: dict[str, Any] = msgspec.to_builtins(self)
        out["wsKey"] = out.pop("ws_key")
        resolved = out.pop("resolved_by")
        if resolved is not None:
            out["resolvedBy"] = resolved
        rl = out.pop("rate_limit", None)
        if rl is not None:
            out["userRateLimit"] = rl
        return out

"""OKX results as msgspec Structs, with OKX's own field names.

Unknown fields are ignored on decode, so a new exchange field never breaks a
user; ``to_dict()`` gives the exchange's JSON dict back for ported code.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec

__all__ = [
    "AmendAck",
    "CancelAck",
    "MassCancelAck",
    "OkxResponse",
    "OrderAck",
    "SpreadAmendAck",
    "SpreadCancelAck",
    "SpreadOrderAck",
]


class _Item(msgspec.Struct, frozen=True, kw_only=True):
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = msgspec.to_builtins(self)
        return out

    @property
    def ok(self) -> bool:
        """``True`` when the exchange accepted this item (``sCode == "0"``)."""
        return getattr(self, "sCode", "0") == "0"


class OrderAck(_Item, frozen=True, kw_only=True):
    """One placed order (``order``, ``batch-orders``). ``sCode == "0"``: accepted."""

    ordId: str = ""
    clOrdId: str = ""
    tag: str = ""
    ts: str = ""
    sCode: str = "0"
    sMsg: str = ""
    subCode: str = ""


class CancelAck(_Item, frozen=True, kw_only=True):
    """One cancel (``cancel-order``, ``batch-cancel-orders``); ``ts`` is the order's creation time.

    ``sCode == "0"`` means the cancel was accepted; the final state comes from the
    orders channel or an order query.
    """

    ordId: str = ""
    clOrdId: str = ""
    ts: str = ""
    sCode: str = "0"
    sMsg: str = ""
    subCode: str = ""


class AmendAck(_Item, frozen=True, kw_only=True):
    """One amend (``amend-order``, ``batch-amend-orders``); accepted, not yet applied."""

    ordId: str = ""
    clOrdId: str = ""
    ts: str = ""
    reqId: str = ""
    sCode: str = "0"
    sMsg: str = ""
    subCode: str = ""


class MassCancelAck(_Item, frozen=True, kw_only=True):
    """``mass-cancel`` / ``sprd-mass-cancel``: whether the request was accepted."""

    result: bool = False


class SpreadOrderAck(_Item, frozen=True, kw_only=True):
    ordId: str = ""
    clOrdId: str = ""
    tag: str = ""
    sCode: str = "0"
    sMsg: str = ""


class SpreadAmendAck(_Item, frozen=True, kw_only=True):
    ordId: str = ""
    clOrdId: str = ""
    reqId: str = ""
    sCode: str = "0"
    sMsg: str = ""


class SpreadCancelAck(_Item, frozen=True, kw_only=True):
    ordId: str = ""
    clOrdId: str = ""
    sCode: str = "0"
    sMsg: str = ""


T = TypeVar("T")


class OkxResponse(msgspec.Struct, Generic[T], frozen=True, kw_only=True):
    """The reply to one request: OKX's envelope plus the ws key it travelled on.

    ``inTime`` / ``outTime`` are the gateway's receive / send times in µs (absent on
    some ops).
    """

    id: str
    op: str
    code: str
    msg: str = ""
    data: list[T] = msgspec.field(default_factory=list)
    inTime: str | None = None
    outTime: str | None = None
    ws_key: str = ""
    #: ``"lookup"`` when the reply was lost and okxkc found the outcome over REST
    #: (``resolve_unknown``); ``None`` for an ordinary reply.
    resolved_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The exchange's JSON reply as a dict (plus ``wsKey``)."""
        out: dict[str, Any] = msgspec.to_builtins(self)
        out["wsKey"] = out.pop("ws_key")
        resolved = out.pop("resolved_by")
        if resolved is not None:
            out["resolvedBy"] = resolved
        return out

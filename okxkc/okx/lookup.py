"""OKX order lookups that settle a lost reply: which orders a request touched, the
signed REST GET that finds each one, and what the answer means. Pure: no I/O.

Endpoints (see docs/outcomes.md for the sources):
``GET /api/v5/trade/order?instId=..&clOrdId=..|ordId=..`` and
``GET /api/v5/sprd/order?clOrdId=..|ordId=..``, signed with ``OK-ACCESS-KEY``,
``OK-ACCESS-SIGN`` (base64 HMAC-SHA256 of timestamp + ``GET`` + path with query),
``OK-ACCESS-TIMESTAMP`` (ISO 8601 UTC, ms) and ``OK-ACCESS-PASSPHRASE``, plus
``x-simulated-trading: 1`` in demo. "Order does not exist" is code 51603.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from time import monotonic
from time import time as wall_time
from typing import Any
from urllib.parse import urlencode

from .._engine import outcome as _outcome
from .._engine.outcome import (
    AMEND,
    CANCEL,
    DONE,
    NEVER,
    NOT_YET,
    PLACE,
    UNKNOWN,
    Finding,
    Quick,
    Sending,
    Target,
)
from .._signing import Clock, hmac_b64, iso_ms
from ..config import OkxAccount
from . import models
from .models import OkxResponse

__all__ = ["NOT_FOUND", "OkxLookups"]

#: OKX's "Order does not exist".
NOT_FOUND = "51603"
# Codes of a refused REST signature / key / passphrase / timestamp / environment:
# looking again cannot help.
_REFUSED = frozenset(
    {"50100", "50101", "50102", "50103", "50104", "50105", "50106", "50107"}
    | {"50111", "50112", "50113", "50114", "50119"}
)

# op -> (what it does to an order, spread op?, result item type)
_OPS: dict[str, tuple[str, bool, type[Any]]] = {
    "order": (PLACE, False, models.OrderAck),
    "batch-orders": (PLACE, False, models.OrderAck),
    "amend-order": (AMEND, False, models.AmendAck),
    "batch-amend-orders": (AMEND, False, models.AmendAck),
    "cancel-order": (CANCEL, False, models.CancelAck),
    "batch-cancel-orders": (CANCEL, False, models.CancelAck),
    "sprd-order": (PLACE, True, models.SpreadOrderAck),
    "sprd-amend-order": (AMEND, True, models.SpreadAmendAck),
    "sprd-cancel-order": (CANCEL, True, models.SpreadCancelAck),
}
# Ops whose envelope carries ``expTime`` (OKX honours it for these only).
_EXPIRING = frozenset({"order", "batch-orders", "amend-order", "batch-amend-orders"})
_FINAL = frozenset({"filled", "canceled", "mmp_canceled"})
_CANCELED = frozenset({"canceled", "mmp_canceled"})
# amend field -> the order field it changes
_AMENDS = (("newSz", "sz"), ("newPx", "px"), ("newPxUsd", "pxUsd"), ("newPxVol", "pxVol"))


def _same(a: Any, b: Any) -> bool:
    try:
        return Decimal(str(a)) == Decimal(str(b))
    except (InvalidOperation, ValueError):
        return False


class OkxLookups:
    """The OKX side of :class:`okxkc._engine.outcome.Resolver`."""

    def __init__(
        self,
        rest_base: str,
        clock: Clock,
        demo: bool,
        inst_id_of: Callable[[int], str | None] = lambda code: None,
    ) -> None:
        self.rest_base = rest_base.rstrip("/")
        self.clock = clock
        self.demo = demo
        #: instIdCode -> instId (the order lookup takes instId).
        self.inst_id_of = inst_id_of

    # -- before sending ----------------------------------------------------------------
    def prepare(self, op: str, meta: Any, resolve: bool) -> Sending:
        started = monotonic()
        spec = _OPS.get(op)
        if spec is not None and spec[0] == PLACE:
            for item in meta.args:
                if not item.get("clOrdId"):
                    item["clOrdId"] = _outcome.new_client_id()
        extras = meta.extras
        if extras:
            sending = Sending(started, extras.get("exp_time"))
        elif resolve and op in _EXPIRING:
            # The call's deadline, on the exchange's clock at sending: a request still
            # queued at the exchange after the deadline is refused there.
            sending = Sending(started, None, int((wall_time() + meta.timeout) * 1000))
        else:
            sending = Sending(started)
        meta.extras = sending
        return sending

    def quick(self, op: str, resolve: bool) -> Quick | None:
        spec = _OPS.get(op)
        place = spec is not None and spec[0] == PLACE
        return Quick("clOrdId" if place else None, resolve and op in _EXPIRING)

    # -- what to look up ---------------------------------------------------------------
    def resolvable(self, op: str) -> bool:
        return op in _OPS

    def targets(self, op: str, args: Any, sending: Sending) -> list[Target]:
        action, spread, _ = _OPS[op]
        expires = sending.expires_ms if op in _EXPIRING else None
        out = []
        for i, item in enumerate(args):
            key: dict[str, str] = {}
            if not spread:
                inst = item.get("instId")
                if inst is None and item.get("instIdCode") is not None:
                    inst = self.inst_id_of(int(item["instIdCode"]))
                if inst is None:
                    continue  # nothing to look it up by: it stays unknown
                key["instId"] = str(inst)
            if item.get("ordId"):
                key["ordId"] = str(item["ordId"])
            elif item.get("clOrdId"):
                key["clOrdId"] = str(item["clOrdId"])
            else:
                continue
            out.append(Target(i, action, key, item, expires))
        return out

    def lookup_request(self, target: Target, account: OkxAccount) -> tuple[str, dict[str, str]]:
        spread = "instId" not in target.key
        path = ("/api/v5/sprd/order?" if spread else "/api/v5/trade/order?") + urlencode(target.key)
        ts = iso_ms(self.clock.now_ms())
        headers = {
            "OK-ACCESS-KEY": account.api_key,
            "OK-ACCESS-SIGN": hmac_b64(account.api_secret, f"{ts}GET{path}"),
            "OK-ACCESS-TIMESTAMP": ts,
            "OK-ACCESS-PASSPHRASE": account.api_pass,
        }
        if self.demo:
            headers["x-simulated-trading"] = "1"
        return self.rest_base + path, headers

    def time_url(self) -> str:
        return f"{self.rest_base}/api/v5/public/time"

    def now_ms(self) -> int:
        return self.clock.now_ms()

    @staticmethod
    def read_time(body: Any) -> int | None:
        try:
            return int(body["data"][0]["ts"])
        except (KeyError, IndexError, TypeError, ValueError):
            return None

    # -- what the answer means ---------------------------------------------------------
    @staticmethod
    def read(target: Target, body: Any) -> Finding:
        if not isinstance(body, Mapping):
            return Finding("failed", detail=f"unexpected REST reply {str(body)[:120]!r}")
        code = str(body.get("code"))
        msg = str(body.get("msg") or "")
        if code == "0":
            data = body.get("data")
            if isinstance(data, list) and data and isinstance(data[0], Mapping):
                return Finding("found", data[0])
            return Finding("absent", detail="empty data")
        if code == NOT_FOUND:
            return Finding("absent", detail=f"[{code}] {msg}")
        return Finding("failed", detail=f"[{code}] {msg}", terminal=code in _REFUSED)

    @staticmethod
    def effect(target: Target, finding: Finding) -> tuple[str, str]:
        if finding.state == "absent":
            # A place may still be queued; an amend or cancel of an order okxkc cannot
            # see proves nothing either way.
            return (NOT_YET if target.action == PLACE else UNKNOWN), "absent"
        order = finding.order or {}
        state = str(order.get("state") or "unknown")
        if target.action == PLACE:
            return DONE, state
        if target.action == CANCEL:
            if state in _CANCELED:
                return DONE, state
            return (NEVER if state in _FINAL else NOT_YET), state
        wanted = [(new, old) for new, old in _AMENDS if target.item.get(new) not in (None, "")]
        if wanted and all(_same(target.item[new], order.get(old)) for new, old in wanted):
            return DONE, state
        return (NEVER if state in _FINAL else NOT_YET), state

    @staticmethod
    def item_result(op: str, target: Target, finding: Finding) -> Any:
        o = finding.order or {}
        kind = _OPS[op][2]
        fields: dict[str, Any] = {
            "ordId": str(o.get("ordId", "")),
            "clOrdId": str(o.get("clOrdId", "")),
            "sCode": "0",
        }
        names = kind.__struct_fields__
        if "tag" in names:
            fields["tag"] = str(o.get("tag", ""))
        if "reqId" in names:
            fields["reqId"] = str(target.item.get("reqId", ""))
        if "ts" in names:
            fields["ts"] = str(o.get("uTime" if kind is models.AmendAck else "cTime", ""))
        return kind(**fields)

    @staticmethod
    def response(op: str, request_id: str | None, ws_key: str, items: list[Any]) -> Any:
        return OkxResponse(
            id=request_id or "",
            op=op,
            code="0",
            data=items,
            ws_key=ws_key,
            resolved_by="lookup",
        )

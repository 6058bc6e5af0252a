"""The trading ops: each op's limits and handlers, and how a request changes the book."""

from __future__ import annotations

import collections
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from okxkc.testing._server import RollingLimiter

from ._book import _Account, _Book, _Inst, _Order
from ._checks import (
    _alnum,
    _enum,
    _fail_amend,
    _fail_cancel,
    _fail_order,
    _fail_sprd_amend,
    _fail_sprd_cancel,
    _fail_sprd_order,
    _is_pos,
    _present,
    _Reject,
    _size,
)
from ._state import _OkxState, _OpSpec
from ._wire import (
    _CANON,
    _IMMEDIATE,
    _M_AMD,
    _M_AMENDED,
    _M_CANCELED,
    _M_CXL,
    _M_DUP,
    _M_EXP,
    _M_LOCK,
    _M_NO_ID,
    _M_NO_INST,
    _M_PLACED,
    _M_RATE,
    _ORDER_TYPES,
    _PENDING,
    _POS_SIDES,
    _PX_TYPES,
    _SIDES,
    _SIGNED_DEC,
    _SPRD_IMMEDIATE,
    _SPRD_TYPES,
    _TD_MODES,
    _reply,
    _top,
)


class _TradingMixin(_OkxState):
    def _build_ops(self) -> dict[str, _OpSpec]:
        def lim(n: int) -> RollingLimiter:
            return RollingLimiter(n, 2.0)

        return {
            "order": _OpSpec(
                "private", True, lim(60), per_inst=True, exp=True, run=self._place, fail=_fail_order
            ),
            "batch-orders": _OpSpec(
                "private",
                False,
                lim(300),
                per_inst=True,
                exp=True,
                run=self._place,
                fail=_fail_order,
            ),
            "cancel-order": _OpSpec(
                "private", True, lim(60), per_inst=True, run=self._cancel, fail=_fail_cancel
            ),
            "batch-cancel-orders": _OpSpec(
                "private", False, lim(300), per_inst=True, run=self._cancel, fail=_fail_cancel
            ),
            "amend-order": _OpSpec(
                "private", True, lim(60), per_inst=True, exp=True, run=self._amend, fail=_fail_amend
            ),
            "batch-amend-orders": _OpSpec(
                "private",
                False,
                lim(300),
                per_inst=True,
                exp=True,
                run=self._amend,
                fail=_fail_amend,
            ),
            "mass-cancel": _OpSpec("private", True, lim(5), times=False, whole=self._mass_cancel),
            "sprd-order": _OpSpec(
                "business", True, lim(20), times=False, run=self._sprd_place, fail=_fail_sprd_order
            ),
            "sprd-amend-order": _OpSpec(
                "business", True, lim(20), times=False, run=self._sprd_amend, fail=_fail_sprd_amend
            ),
            "sprd-cancel-order": _OpSpec(
                "business",
                True,
                lim(20),
                times=False,
                run=self._sprd_cancel,
                fail=_fail_sprd_cancel,
            ),
            "sprd-mass-cancel": _OpSpec(
                "business", True, lim(5), times=False, whole=self._sprd_mass_cancel
            ),
        }

    # -- typed context managers ----------------------------------------------------------
    # -- trading ---------------------------------------------------------------------
    def _process(
        self,
        acct_key: str,
        env: dict[str, Any],
        op: str,
        spec: _OpSpec,
        args: list[dict[str, Any]],
        in_us: int,
    ) -> dict[str, Any]:
        """Apply one request to the book; the reply without ``outTime`` (set when sent)."""
        acct = self._accounts[acct_key]
        rid = env["id"]
        t_in = str(in_us) if spec.times or self.sprd_times else None
        now = self.now_ms()
        lim = spec.limiter if self.rate_limits else None

        whole = spec.whole
        if whole is not None:
            if lim is not None and not lim.try_take(acct_key):
                return _top(rid, op, "50011", _M_RATE, t_in)
            try:
                whole(acct_key, acct, args[0], now)
            except _Reject as r:
                return _top(rid, op, r.code, r.msg, t_in)
            return _reply(rid, op, "0", [{"result": True}], t_in)

        fail = spec.fail
        run = spec.run
        assert fail is not None and run is not None
        if spec.exp:
            exp = env.get("expTime")
            if _present(exp):
                if type(exp) is int or (type(exp) is str and exp.isascii() and exp.isdigit()):
                    if int(exp) < now:
                        return _reply(
                            rid, op, "1", [fail(a, now, "50036", _M_EXP) for a in args], t_in
                        )
                else:
                    items = [fail(a, now, "51000", "Parameter expTime error") for a in args]
                    return _reply(rid, op, "1", items, t_in)

        allowed: list[bool] | None = None
        if lim is not None:
            if spec.per_inst:
                keys: list[Any] = [(acct_key, self._inst_key(a)) for a in args]
            else:
                keys = [acct_key] * len(args)
            if self.rate_limit_style == "top":
                need = collections.Counter(keys)
                if any(lim.remaining(k) < n for k, n in need.items()):
                    return _top(rid, op, "50011", _M_RATE, t_in)
                for k in keys:
                    lim.try_take(k)
            else:
                allowed = [lim.try_take(k) for k in keys]

        if allowed is None and len(args) == 1:  # the hot path: one item, no limiter verdicts
            a = args[0]
            try:
                item = run(acct_key, acct, a, now, None)
                code = "0"
            except _Reject as r:
                item = fail(a, now, r.code, r.msg)
                code = "1"
            return _reply(rid, op, code, [item], t_in)

        batch_cl: set[str] | None = set() if len(args) > 1 else None
        items = []
        ok = 0
        for i, a in enumerate(args):
            if allowed is not None and not allowed[i]:
                items.append(fail(a, now, "50011", _M_RATE))
                continue
            try:
                items.append(run(acct_key, acct, a, now, batch_cl))
                ok += 1
            except _Reject as r:
                items.append(fail(a, now, r.code, r.msg))
        code = "0" if ok == len(items) else ("1" if ok == 0 else "2")
        return _reply(rid, op, code, items, t_in)

    def _resolve(self, a: dict[str, Any]) -> _Inst:
        c = a.get("instIdCode")
        if c is not None and c != "":  # instIdCode wins over instId
            if type(c) is int:
                inst = self._by_code.get(c)
            elif type(c) is str and c.isascii() and c.isdigit():
                inst = self._by_code.get(int(c))
            else:
                raise _Reject("51000", "Parameter instIdCode error")
            if inst is None:
                raise _Reject("51001", _M_NO_INST)
            return inst
        if self.require_inst_id_code:
            raise _Reject("50014", "Parameter instIdCode can not be empty")
        i = a.get("instId")
        if i is None or i == "":
            raise _Reject("50014", "Parameter instIdCode can not be empty")
        inst = self._by_id.get(i) if type(i) is str else None
        if inst is None:
            raise _Reject("51001", _M_NO_INST)
        return inst

    def _inst_key(self, a: dict[str, Any]) -> str | None:
        try:
            return self._resolve(a).inst_id
        except _Reject:
            return None

    @staticmethod
    def _target(book: _Book, a: dict[str, Any]) -> _Order | None:
        oid: Any = a.get("ordId")
        if _present(oid):  # ordId wins over clOrdId
            if type(oid) is int:
                oid = str(oid)
            return book.orders.get(oid) if type(oid) is str else None
        cl = a.get("clOrdId")
        if _present(cl):
            return book.by_cl.get(cl) if type(cl) is str else None
        raise _Reject("50014", _M_NO_ID)

    def _place(
        self, acct_key: str, acct: _Account, a: dict[str, Any], now: int, batch_cl: set[str] | None
    ) -> dict[str, Any]:
        inst = self._resolve(a)
        g = a.get
        td: Any = g("tdMode")
        side: Any = g("side")
        ot: Any = g("ordType")
        sz: Any = g("sz")
        # Fast path for a valid order: canonical strings (one shared object per value keeps
        # a million resting orders smaller); otherwise the validators name the bad field.
        try:
            td, side, ot = _CANON[td], _CANON[side], _CANON[ot]
            common = td in _TD_MODES and side in _SIDES and ot in _ORDER_TYPES
        except (KeyError, TypeError):  # unknown or unhashable
            common = False
        if not common:
            td = _enum(a, "tdMode", _TD_MODES)
            side = _enum(a, "side", _SIDES)
            ot = _enum(a, "ordType", _ORDER_TYPES)
        if not _is_pos(sz):
            _size(a, "sz")
        px = ""
        if ot in _PX_TYPES:
            v: Any = g("px")
            if _present(v):
                if not _is_pos(v):
                    raise _Reject("51000", "Parameter px error")
                px = v
            elif not (
                inst.inst_type == "OPTION"
                and (_present(a.get("pxUsd")) or _present(a.get("pxVol")))
            ):
                raise _Reject("50014", "Parameter px can not be empty")
        pos = g("posSide")
        if pos is not None and pos != "" and (type(pos) is not str or pos not in _POS_SIDES):
            raise _Reject("51000", "Parameter posSide error")
        cl = g("clOrdId")
        if cl is None or cl == "":
            cl = ""
        elif type(cl) is not str or len(cl) > 32 or not (cl.isascii() and cl.isalnum()):
            raise _Reject("51000", "Parameter clOrdId error")
        tag = g("tag")
        if tag is None or tag == "":
            tag = ""
        elif type(tag) is not str or len(tag) > 16 or not (tag.isascii() and tag.isalnum()):
            raise _Reject("51000", "Parameter tag error")
        if self._locks and inst.inst_type == "OPTION":
            until = self._locks.get((acct_key, inst.family))
            if until is not None and now < until:
                raise _Reject("54008", _M_LOCK)
        book = acct.normal
        if cl:
            if cl in book.by_cl or (batch_cl is not None and cl in batch_cl):
                raise _Reject("51016", _M_DUP)
            if batch_cl is not None:
                batch_cl.add(cl)
        oid = str(next(self._ids))
        o = _Order(
            book, oid, cl, inst, "", side, ot, td, px, sz, ot in _IMMEDIATE, tag, now, pos or ""
        )
        book.add(o)
        return {
            "ordId": oid,
            "clOrdId": cl,
            "tag": tag,
            "ts": str(now),
            "sCode": "0",
            "sMsg": _M_PLACED,
            "subCode": "",
        }

    def _cancel(
        self, acct_key: str, acct: _Account, a: dict[str, Any], now: int, batch_cl: set[str] | None
    ) -> dict[str, Any]:
        inst = self._resolve(a)
        book = acct.normal
        o = self._target(book, a)
        if o is None or o.inst is not inst or o.state not in _PENDING:
            raise _Reject("51400", _M_CXL)
        o.u_time = now
        book.close(o, "canceled")
        return {
            "ordId": o.ord_id,
            "clOrdId": o.cl_ord_id,
            "ts": str(o.c_time),
            "sCode": "0",
            "sMsg": _M_CANCELED,
            "subCode": "",
        }

    @staticmethod
    def _amend_args(a: dict[str, Any], px_ok: Callable[[Any], bool]) -> tuple[str, str, str]:
        new_sz: Any = a.get("newSz")
        new_px: Any = a.get("newPx")
        has_sz, has_px = _present(new_sz), _present(new_px)
        if not has_sz and not has_px:
            raise _Reject("50014", "Parameter newSz or newPx can not be empty")
        if has_sz and not _is_pos(new_sz):
            raise _Reject("51000", "Parameter newSz error")
        if has_px and not px_ok(new_px):
            raise _Reject("51000", "Parameter newPx error")
        req = _alnum(a, "reqId", 32)
        return (new_sz if has_sz else ""), (new_px if has_px else ""), req

    @staticmethod
    def _apply_amend(o: _Order, new_sz: str, new_px: str, now: int) -> None:
        if new_px:
            o.px = new_px
        if new_sz:
            if Decimal(new_sz) <= Decimal(o.fill_sz):
                # OKX: an amended size at or below the filled size completes the order.
                o.sz = o.fill_sz
                o.book.close(o, "filled")
            else:
                o.sz = new_sz
        o.u_time = now

    def _amend(
        self, acct_key: str, acct: _Account, a: dict[str, Any], now: int, batch_cl: set[str] | None
    ) -> dict[str, Any]:
        inst = self._resolve(a)
        o = self._target(acct.normal, a)
        new_sz, new_px, req = self._amend_args(a, _is_pos)
        if o is None or o.inst is not inst or o.state not in _PENDING:
            raise _Reject("51503", _M_AMD)
        self._apply_amend(o, new_sz, new_px, now)
        return {
            "ordId": o.ord_id,
            "clOrdId": o.cl_ord_id,
            "ts": str(o.c_time),
            "reqId": req,
            "sCode": "0",
            "sMsg": _M_AMENDED,
            "subCode": "",
        }

    def _mass_cancel(self, acct_key: str, acct: _Account, a: dict[str, Any], now: int) -> None:
        inst_type = a.get("instType")
        if not _present(inst_type):
            raise _Reject("50014", "Parameter instType can not be empty")
        if inst_type != "OPTION":
            raise _Reject("51000", "Parameter instType error")
        family = a.get("instFamily")
        if not _present(family):
            raise _Reject("50014", "Parameter instFamily can not be empty")
        if type(family) is not str:
            raise _Reject("51000", "Parameter instFamily error")
        raw = a.get("lockInterval")
        if not _present(raw):
            lock = 0
        elif type(raw) is int or (type(raw) is str and raw.isascii() and raw.isdigit()):
            lock = int(raw)
        else:
            lock = -1
        if not 0 <= lock <= 10_000:
            raise _Reject("51000", "Parameter lockInterval error")
        book = acct.normal
        for o in list(book.live.values()):
            inst = o.inst
            if inst is not None and inst.inst_type == "OPTION" and inst.family == family:
                o.u_time = now
                book.close(o, "canceled")
        if lock:
            self._locks[(acct_key, family)] = now + lock
        else:
            self._locks.pop((acct_key, family), None)

    # -- spread trading ----------------------------------------------------------------
    def _sprd_id(self, a: dict[str, Any]) -> str:
        sid = a.get("sprdId")
        if not _present(sid):
            raise _Reject("50014", "Parameter sprdId can not be empty")
        if type(sid) is not str or sid not in self._spreads:
            raise _Reject("51001", _M_NO_INST)
        return sid

    def _sprd_place(
        self, acct_key: str, acct: _Account, a: dict[str, Any], now: int, batch_cl: set[str] | None
    ) -> dict[str, Any]:
        sid = self._sprd_id(a)
        side = _enum(a, "side", _SIDES)
        ot = _enum(a, "ordType", _SPRD_TYPES)
        sz = _size(a, "sz")
        px = ""
        if ot != "market":
            v = a.get("px")
            if not _present(v):
                raise _Reject("50014", "Parameter px can not be empty")
            if type(v) is not str or not _SIGNED_DEC.fullmatch(v):
                raise _Reject("51000", "Parameter px error")
            px = v
        cl = _alnum(a, "clOrdId", 32)
        tag = _alnum(a, "tag", 16)
        book = acct.spread
        if cl and cl in book.by_cl:
            raise _Reject("51016", _M_DUP)
        oid = str(next(self._ids))
        book.add(
            _Order(book, oid, cl, None, sid, side, ot, "", px, sz, ot in _SPRD_IMMEDIATE, tag, now)
        )
        return {"ordId": oid, "clOrdId": cl, "tag": tag, "sCode": "0", "sMsg": _M_PLACED}

    def _sprd_amend(
        self, acct_key: str, acct: _Account, a: dict[str, Any], now: int, batch_cl: set[str] | None
    ) -> dict[str, Any]:
        o = self._target(acct.spread, a)
        new_sz, new_px, req = self._amend_args(
            a, lambda v: type(v) is str and _SIGNED_DEC.fullmatch(v) is not None
        )
        if o is None or o.state not in _PENDING:
            raise _Reject("51503", _M_AMD)
        self._apply_amend(o, new_sz, new_px, now)
        return {
            "ordId": o.ord_id,
            "clOrdId": o.cl_ord_id,
            "reqId": req,
            "sCode": "0",
            "sMsg": _M_AMENDED,
        }

    def _sprd_cancel(
        self, acct_key: str, acct: _Account, a: dict[str, Any], now: int, batch_cl: set[str] | None
    ) -> dict[str, Any]:
        book = acct.spread
        o = self._target(book, a)
        if o is None or o.state not in _PENDING:
            raise _Reject("51400", _M_CXL)
        o.u_time = now
        book.close(o, "canceled")
        return {"ordId": o.ord_id, "clOrdId": o.cl_ord_id, "sCode": "0", "sMsg": _M_CANCELED}

    def _sprd_mass_cancel(self, acct_key: str, acct: _Account, a: dict[str, Any], now: int) -> None:
        sid = a.get("sprdId")
        if _present(sid) and (type(sid) is not str or sid not in self._spreads):
            raise _Reject("51001", _M_NO_INST)
        book = acct.spread
        for o in list(book.live.values()):
            if not sid or o.sprd_id == sid:
                o.u_time = now
                book.close(o, "canceled")

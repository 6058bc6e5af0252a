"""REST routes: the public endpoints clients call before trading, and the signed order
lookups served from the sockets' order book."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ._auth import _AuthMixin
from ._book import _Account, _Inst, _order_row, _sprd_row
from ._checks import _Reject
from ._wire import _ENC, _INST_TYPES, _M_NO_ID, _M_NO_INST, _M_NO_ORDER, _M_RATE, _REST_MSG


class _RestMixin(_AuthMixin):
    def _add_rest_routes(self, app: web.Application) -> None:
        app.router.add_get("/api/v5/public/instruments", self._rest_instruments)
        app.router.add_get("/api/v5/public/underlying", self._rest_underlying)
        app.router.add_get("/api/v5/public/time", self._rest_time)
        app.router.add_get("/api/v5/asset/currencies", self._rest_currencies)
        app.router.add_get("/api/v5/trade/order", self._rest_trade_order)
        app.router.add_get("/api/v5/sprd/order", self._rest_sprd_order)

    # -- REST ------------------------------------------------------------------------
    @staticmethod
    def _json(body: dict[str, Any], status: int = 200) -> web.Response:
        return web.Response(body=_ENC.encode(body), status=status, content_type="application/json")

    def _rest_error(self, code: str, msg: str) -> web.Response:
        return self._json({"code": code, "msg": msg, "data": []}, status=400)

    async def _rest_instruments(self, request: web.Request) -> web.Response:
        q = request.query
        inst_type = q.get("instType", "")
        if not inst_type:
            return self._rest_error("50014", "Parameter instType can not be empty")
        if inst_type not in _INST_TYPES:
            return self._rest_error("51000", "Parameter instType error")
        family = q.get("instFamily", "")
        uly = q.get("uly", "")
        if inst_type == "OPTION" and not (family or uly):
            return self._rest_error("50014", "Parameter instFamily can not be empty")
        inst_id = q.get("instId", "")
        rows = [
            dict(i.row)
            for i in self._instruments
            if i.inst_type == inst_type
            and (not family or i.row["instFamily"] == family)
            and (not uly or i.row["uly"] == uly)
            and (not inst_id or i.inst_id == inst_id)
        ]
        return self._json({"code": "0", "msg": "", "data": rows})

    async def _rest_underlying(self, request: web.Request) -> web.Response:
        inst_type = request.query.get("instType", "")
        if inst_type not in ("SWAP", "FUTURES", "OPTION"):
            return self._rest_error("51000", "Parameter instType error")
        fams = sorted({i.family for i in self._instruments if i.inst_type == inst_type})
        return self._json({"code": "0", "msg": "", "data": [fams]})

    async def _rest_time(self, request: web.Request) -> web.Response:
        return self._json({"code": "0", "msg": "", "data": [{"ts": str(self.now_ms())}]})

    async def _rest_currencies(self, request: web.Request) -> web.Response:
        # ccxt's load_markets calls this signed endpoint; an empty list satisfies it.
        return self._json({"code": "0", "msg": "", "data": []})

    def _rest_lookup(self, request: web.Request, spread: bool) -> web.Response:
        status = self.faults.take_rest_failure()
        if status is not None:
            self._log_lookup(request, None, f"HTTP {status}")
            return web.Response(status=status, text="Service Unavailable")
        key, code, http = self._rest_auth(request)
        if code:
            self._log_lookup(request, None, code)
            return self._json({"code": code, "msg": _REST_MSG[code], "data": []}, status=http)
        lim = self._rest_limiter if self.rate_limits else None
        if lim is not None and not lim.try_take(key):
            self._log_lookup(request, key, "50011")
            return self._json({"code": "50011", "msg": _M_RATE, "data": []}, status=429)
        try:
            row = self._lookup_row(self._accounts[key], request.query, spread)
        except _Reject as r:
            self._log_lookup(request, key, r.code)
            status = 400 if r.code in ("50014", "51000") else 200
            return self._json({"code": r.code, "msg": r.msg, "data": []}, status=status)
        self._log_lookup(request, key, "0")
        return self._json({"code": "0", "msg": "", "data": [row]})

    def _lookup_row(self, acct: _Account, q: Mapping[str, str], spread: bool) -> dict[str, Any]:
        inst: _Inst | None = None
        if not spread:
            inst_id = q.get("instId", "")
            if not inst_id:
                raise _Reject("50014", "Parameter instId can not be empty")
            inst = self._by_id.get(inst_id)
            if inst is None:
                raise _Reject("51001", _M_NO_INST)
        book = acct.spread if spread else acct.normal
        oid, cl = q.get("ordId", ""), q.get("clOrdId", "")
        if oid:  # ordId wins over clOrdId, as on OKX
            if not (oid.isascii() and oid.isdigit()):
                raise _Reject("51000", "Parameter ordId error")
            o = book.orders.get(oid)
        elif cl:
            # OKX: a clOrdId used by several orders finds the newest one.
            o = book.last_cl.get(cl)
        else:
            raise _Reject("50014", _M_NO_ID)
        if o is None or (inst is not None and o.inst is not inst):
            raise _Reject("51603", _M_NO_ORDER)
        return _sprd_row(o) if spread else _order_row(o)

    def _log_lookup(self, request: web.Request, key: str | None, code: str) -> None:
        self.stats["rest_lookups"] += 1
        if self.record:
            self.lookups.append(
                {
                    "path": request.path,
                    "query": dict(request.query),
                    "account": key,
                    "code": code,
                    "ts": self.now_ms(),
                }
            )

    async def _rest_trade_order(self, request: web.Request) -> web.Response:
        return self._rest_lookup(request, spread=False)

    async def _rest_sprd_order(self, request: web.Request) -> web.Response:
        return self._rest_lookup(request, spread=True)

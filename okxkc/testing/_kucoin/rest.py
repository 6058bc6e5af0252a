"""KuCoin's signed REST order look-ups, served from the sockets' order book: spot and
margin HF paths (spot host), futures paths (futures host) and the Unified Trading
Account's order details (spot host) on one URL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from .._server import SimulatedExchange
from .auth import check_rest
from .book import Account, Book
from .views import futures_view, spot_view, uta_view
from .wire import (
    MSG_ENUM,
    MSG_REQUIRED,
    MSG_REST_UNAVAILABLE,
    OK,
    PARAM_ERROR,
    REST_AUTH_MESSAGES,
    REST_AUTH_STATUS,
    REST_NOT_FOUND,
)

# (path, market, looked up by): static paths first, "byClientOid" is no order id.
ROUTES: tuple[tuple[str, str, str], ...] = (
    ("/api/v1/hf/orders/client-order/{clientOid}", "spot", "coid"),
    ("/api/v1/hf/orders/{orderId}", "spot", "oid"),
    ("/api/v3/hf/margin/orders/client-order/{clientOid}", "margin", "coid"),
    ("/api/v3/hf/margin/orders/{orderId}", "margin", "oid"),
    ("/api/v1/orders/byClientOid", "futures", "coid"),
    ("/api/v1/orders/{orderId}", "futures", "oid"),
)
# KuCoin docs, UTA "Get Order Details": tradeType (SPOT, FUTURES, ...) picks the market;
# orderId or clientOid (query) names the order; symbol narrows it.
UTA_DETAIL = "/api/ua/v1/unified/order/detail"


class KucoinRest(SimulatedExchange):
    """The REST side of the simulator; :class:`~okxkc.testing.kucoin.KucoinSimulator`
    sets the attributes below."""

    book: Book
    timestamp_window_ms: int
    rest_not_found: str
    rest_key_versions: tuple[str, ...]
    rest_available: bool
    rest_delay: float
    uta_trade_types: dict[str, str]

    def add_rest_routes(self, app: web.Application) -> None:
        app.router.add_get("/api/v1/timestamp", self._rest_timestamp)
        for path, market, by in ROUTES:
            app.router.add_get(path, self._rest_order(market, by))
        app.router.add_get(UTA_DETAIL, self._rest_order("uta", "query"))

    async def _rest_timestamp(self, request: web.Request) -> web.Response:
        """REST server time, ms (shifted by ``clock_offset_ms``), as KuCoin serves it."""
        return web.json_response({"code": OK, "data": self.now_ms()})

    def _rest_order(self, market: str, by: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(request: web.Request) -> web.Response:
            return await self._serve_lookup(request, market, by)

        return handler

    async def _serve_lookup(self, request: web.Request, market: str, by: str) -> web.Response:
        self.stats["rest_requests"] += 1
        if self.rest_delay > 0:
            await asyncio.sleep(self.rest_delay)
        status = self.faults.take_rest_failure()
        if status is not None:
            return web.Response(status=status, text="Service Unavailable")
        if not self.rest_available:
            return web.json_response({"code": "500000", "msg": MSG_REST_UNAVAILABLE}, status=503)
        acct, code = check_rest(
            self.book.accounts,
            request,
            now_ms=self.now_ms(),
            window_ms=self.timestamp_window_ms,
            key_versions=self.rest_key_versions,
        )
        if acct is None:
            self.stats["rest_auth_failed"] += 1
            code = code or "400001"
            msg = REST_AUTH_MESSAGES.get(code, "Unauthorized")
            return web.json_response({"code": code, "msg": msg}, status=REST_AUTH_STATUS)
        query = request.rel_url.query
        symbol = query.get("symbol") or None
        if market == "uta":
            return self._uta_lookup(acct, query, symbol)
        if market != "futures" and symbol is None:
            return web.json_response(
                {"code": PARAM_ERROR, "msg": MSG_REQUIRED.format(field="symbol")}
            )
        if by == "oid":
            o = self.book.lookup(acct, market, order_id=request.match_info["orderId"])
        else:
            coid = request.match_info.get("clientOid") or query.get("clientOid") or ""
            if not coid:
                return web.json_response(
                    {"code": PARAM_ERROR, "msg": MSG_REQUIRED.format(field="clientOid")}
                )
            o = self.book.lookup(acct, market, client_oid=coid)
        if o is not None and symbol is not None and o.symbol != symbol:
            o = None
        if o is None:
            return self._not_found(market)
        view = futures_view(o) if market == "futures" else spot_view(o)
        return web.json_response({"code": OK, "data": view})

    def _uta_lookup(
        self, acct: Account, query: Mapping[str, str], symbol: str | None
    ) -> web.Response:
        trade_type = query.get("tradeType") or ""
        if not trade_type:
            return _param_error(MSG_REQUIRED.format(field="tradeType"))
        market = self.uta_trade_types.get(trade_type)
        if market is None:
            allowed = ", ".join(self.uta_trade_types)
            return _param_error(MSG_ENUM.format(field="tradeType", allowed=allowed))
        oid, coid = query.get("orderId") or None, query.get("clientOid") or None
        if oid is None and coid is None:
            return _param_error(MSG_REQUIRED.format(field="orderId or clientOid"))
        if oid is not None:
            o = self.book.lookup(acct, market, order_id=oid)
            if o is not None and coid is not None and o.client_oid != coid:
                o = None
        else:
            o = self.book.lookup(acct, market, client_oid=coid)
        if o is not None and symbol is not None and o.symbol != symbol:
            o = None
        if o is None:
            return self._not_found("uta")
        return web.json_response({"code": OK, "data": uta_view(o, trade_type)})

    def _not_found(self, market: str) -> web.Response:
        self.stats["rest_not_found"] += 1
        if self.rest_not_found == "error":
            code, msg = REST_NOT_FOUND[market]
            return web.json_response({"code": code, "msg": msg})
        data: dict[str, str] | None = None if self.rest_not_found == "null" else {}
        return web.json_response({"code": OK, "data": data})


def _param_error(msg: str) -> web.Response:
    return web.json_response({"code": PARAM_ERROR, "msg": msg})

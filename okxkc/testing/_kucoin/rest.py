"""KuCoin's signed REST order look-ups, served from the sockets' order book: spot and
margin HF paths (spot host) and futures paths (futures host) on one URL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

from .._server import SimulatedExchange
from .auth import check_rest
from .book import Book
from .views import futures_view, spot_view
from .wire import (
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


class KucoinRest(SimulatedExchange):
    """The REST side of the simulator; :class:`~okxkc.testing.kucoin.KucoinSimulator`
    sets the attributes below."""

    book: Book
    timestamp_window_ms: int
    rest_not_found: str
    rest_key_versions: tuple[str, ...]
    rest_available: bool
    rest_delay: float

    def add_rest_routes(self, app: web.Application) -> None:
        app.router.add_get("/api/v1/timestamp", self._rest_timestamp)
        for path, market, by in ROUTES:
            app.router.add_get(path, self._rest_order(market, by))

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
            self.stats["rest_not_found"] += 1
            if self.rest_not_found == "error":
                code, msg = REST_NOT_FOUND[market]
                return web.json_response({"code": code, "msg": msg})
            data: dict[str, str] | None = None if self.rest_not_found == "null" else {}
            return web.json_response({"code": OK, "data": data})
        view = futures_view(o) if market == "futures" else spot_view(o)
        return web.json_response({"code": OK, "data": view})

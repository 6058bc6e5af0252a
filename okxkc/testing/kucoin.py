"""A simulated KuCoin WebSocket trading server ("WS API", ``/v1/private``) on loopback.

It follows ``protocol/kucoin.md``: URL-signed login, the session challenge,
ping/pong and idle close, the eleven trading ops with KuCoin's envelopes and
error codes, REST-style resource-pool rate limits, an in-memory order book per
account and market, signed REST order look-ups from that book, and fault
injection. Any KuCoin WS API client (okxkc, the official SDK's trade socket, a raw
aiohttp script) can trade against it unchanged.

Facts the protocol notes mark UNVERIFIED are constructor switches or module
constants, so a test can follow KuCoin if the live server turns out different.

The parts live in ``okxkc.testing._kucoin``, one job each: ``wire`` (codes,
messages, codec), ``auth`` (signed URL and REST headers), ``checks`` (argument
checks), ``book`` (orders and accounts), ``ops`` (the classic ops), ``views``
(orders as REST shows them), ``session`` (the socket), ``rest`` (the look-ups).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from aiohttp import web

from ._kucoin.auth import DEFAULT_CREDENTIAL, KucoinCredential
from ._kucoin.book import Account, Book, Order
from ._kucoin.ops import ClassicOps
from ._kucoin.rest import KucoinRest
from ._kucoin.session import KucoinSessions
from ._kucoin.uta import DEFAULT_TRADE_TYPES, UTA_OPS, UtaOps
from ._kucoin.wire import (
    ALL_OPS,
    DEFAULT_SYMBOLS,
    EXPIRE_CLOSE_CODE,
    MSG_DUPLICATE_CLIENT_OID,
    MSG_ORDER_NOT_FOUND,
    ORDER_EXPIRED,
    ORDER_NOT_FOUND,
    REST_NOT_FOUND,
    REST_NOT_FOUND_FORMS,
    encode,
)
from ._server import RollingLimiter

__all__ = [
    "ALL_OPS",
    "DEFAULT_SYMBOLS",
    "MSG_DUPLICATE_CLIENT_OID",
    "MSG_ORDER_NOT_FOUND",
    "ORDER_EXPIRED",
    "ORDER_NOT_FOUND",
    "REST_NOT_FOUND",
    "UTA_OPS",
    "KucoinCredential",
    "KucoinSimulator",
]

T = TypeVar("T")
# Older name of the account record, kept for code that builds one by hand.
_Account = Account


class KucoinSimulator(KucoinRest, KucoinSessions):
    """Simulated KuCoin WS API: ``ws://host:port/v1/private`` (see the module docstring).

    Blocking use: ``with KucoinSimulator() as sim:``; async: ``async with KucoinSimulator() as sim:``.
    Point a client at :attr:`private_url`. Order-book helpers (:meth:`orders`,
    :meth:`find_order`, :meth:`fill`) are safe to call from any thread.
    """

    name = "kucoin"
    path = "/v1/private"

    def __init__(
        self,
        *,
        credentials: Sequence[KucoinCredential] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        clock_offset_ms: int = 0,
        record: bool = True,
        tls: bool = False,
        symbols: Mapping[str, Iterable[str]] | None = None,
        partners: Mapping[str, str] | None = None,
        timestamp_window_ms: int = 5000,
        challenge_timeout: float = 30.0,
        pretty_challenge: bool = False,
        ping_interval_ms: int = 18000,
        ping_timeout_ms: int = 10000,
        idle_timeout: float | None = None,
        rate_limits: bool = True,
        spot_pool_limit: int = 4000,
        futures_pool_limit: int = 2000,
        pool_window_s: float = 30.0,
        rate_limit_key: str = "userRateLimit",
        enable_ns_default: bool = False,
        session_notice_grace: float = 5.0,
        keep_closed_orders: int = 10_000,
        rest_not_found: str = "error",
        rest_key_versions: Iterable[str] = ("2", "3"),
        uta_pool_limit: int = 2000,
        uta_strict: bool = False,
        uta_amend_replaces: bool = False,
        uta_trade_types: Iterable[str] = DEFAULT_TRADE_TYPES,
    ) -> None:
        super().__init__(
            host=host, port=port, clock_offset_ms=clock_offset_ms, record=record, tls=tls
        )
        creds = [DEFAULT_CREDENTIAL] if credentials is None else list(credentials)
        self.book = Book(
            creds, keep_closed_orders, DEFAULT_SYMBOLS if symbols is None else symbols, self.now_ms
        )
        self.partners: dict[str, str] = dict(partners or {})
        self.timestamp_window_ms = timestamp_window_ms
        self.challenge_timeout = challenge_timeout
        self.pretty_challenge = pretty_challenge
        self.ping_interval_ms = ping_interval_ms
        self.ping_timeout_ms = ping_timeout_ms
        self.idle_timeout = (
            (ping_interval_ms + ping_timeout_ms) / 1000 if idle_timeout is None else idle_timeout
        )
        self.rate_limits = rate_limits
        self.rate_limit_key = rate_limit_key
        self.enable_ns_default = enable_ns_default
        self.session_notice_grace = session_notice_grace
        self._pools: dict[str, RollingLimiter] = {
            "spot": RollingLimiter(spot_pool_limit, pool_window_s),
            "futures": RollingLimiter(futures_pool_limit, pool_window_s),
            "uta": RollingLimiter(uta_pool_limit, pool_window_s),
        }
        window_ms = int(pool_window_s * 1000)
        # What replies carry when rate limiting is off: a full pool, shared, never mutated.
        self._full_pools: dict[str, dict[str, int]] = {
            k: {"limit": p.limit, "reset": window_ms, "remaining": p.limit}
            for k, p in self._pools.items()
        }
        self._handlers = ClassicOps(self.book).handlers()
        self._handlers.update(
            UtaOps(
                self.book,
                strict=uta_strict,
                amend_replaces=uta_amend_replaces,
                trade_types=tuple(uta_trade_types),
            ).handlers()
        )
        if rest_not_found not in REST_NOT_FOUND_FORMS:
            raise ValueError(f"rest_not_found must be one of {REST_NOT_FOUND_FORMS}")
        self.rest_not_found = rest_not_found
        self.rest_key_versions = tuple(rest_key_versions)
        # Switches a test may flip while the server runs: REST answers 503 when not
        # available, and each REST answer waits ``rest_delay`` seconds first.
        self.rest_available = True
        self.rest_delay = 0.0
        # faults.drop_then_execute: a request queued when the socket died runs later.
        self.faults.supports_queued_execution = True
        self._conns = {}

    # -- public surface -----------------------------------------------------------------
    async def __aenter__(self) -> KucoinSimulator:
        await self.start()
        return self

    def __enter__(self) -> KucoinSimulator:
        self.start_in_thread()
        return self

    @property
    def private_url(self) -> str:
        """The WS API URL without the signed query: ``ws://host:port/v1/private``."""
        return f"{self.ws_url}{self.path}"

    @property
    def credentials(self) -> list[KucoinCredential]:
        return [a.cred for a in self.book.accounts.values()]

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(self.path, self._handle)
        self.add_rest_routes(app)

    def notice_frames(self) -> list[str]:
        # KuCoin documents no notice: this is okxkc's simulation of a server-side
        # session expiry, labelled as such in the frame itself.
        notice = {
            "type": "notice",
            "op": "session.expiring",
            "msg": "Session will be closed for maintenance (simulated). Please reconnect.",
            "closeIn": int(self.session_notice_grace * 1000),
        }
        return [encode(notice).decode()]

    def send_notice(self) -> None:
        """Send the (simulated) session-expiry notice to every verified session and close
        each of them ``session_notice_grace`` seconds later; replies flow meanwhile."""
        frames = self.notice_frames()
        grace = self.session_notice_grace

        async def go() -> None:
            loop = asyncio.get_running_loop()
            for ws in list(self._conns):
                if ws.closed:
                    continue
                try:
                    for f in frames:
                        await ws.send_str(f)
                except ConnectionError:
                    continue
                self.stats["notices"] += 1
                loop.call_later(grace, self._close_later, ws, EXPIRE_CLOSE_CODE, b"session expired")

        self._on_loop(go)

    def expire_sessions(self) -> None:
        """Close every socket now with close code 1001 and no notice (a session expiry)."""

        async def go() -> None:
            for ws in list(self._sockets):
                self._close_later(ws, EXPIRE_CLOSE_CODE, b"session expired")

        self._on_loop(go)

    def orders(
        self, api_key: str | None = None, market: str | None = None, *, open_only: bool = False
    ) -> list[dict[str, Any]]:
        """Copies of the known orders (open ones, then recent closed ones), oldest first."""

        def collect() -> list[dict[str, Any]]:
            found: list[Order] = []
            for acct in self.book.accounts.values():
                if api_key is not None and acct.cred.api_key != api_key:
                    continue
                for m, book in acct.open.items():
                    if market is None or m == market:
                        found.extend(book.values())
                if not open_only:
                    found.extend(o for o in acct.closed if market is None or o.market == market)
            found.sort(key=lambda o: o.seq)
            return [o.to_dict() for o in found]

        return self._call(collect)

    def find_order(
        self,
        *,
        order_id: str | None = None,
        client_oid: str | None = None,
        api_key: str | None = None,
    ) -> dict[str, Any] | None:
        """A copy of one order by id or clientOid (an open order wins over closed ones)."""

        def look() -> dict[str, Any] | None:
            o = self.book.find(order_id, client_oid, api_key)
            return None if o is None else o.to_dict()

        return self._call(look)

    def fill(self, order_id: str, size: str | Decimal | None = None) -> dict[str, Any]:
        """Fill an open order (fully, or by ``size``); returns a copy of the order."""

        def go() -> dict[str, Any]:
            return self.book.fill(order_id, size).to_dict()

        return self._call(go)

    # -- thread plumbing ----------------------------------------------------------------------
    def _call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the simulator's loop (at once if already there) and return its result.

        The base's ``_on_loop`` spawns a task when called on the loop, so an async test
        would not see the change yet; the order book needs a synchronous answer.
        """
        loop = self._loop
        if loop is None or loop.is_closed() or not loop.is_running():
            return fn()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            return fn()

        async def go() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(go(), loop).result(10)

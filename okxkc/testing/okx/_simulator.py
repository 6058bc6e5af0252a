"""The OKX simulator: its options, lifecycle, URLs and order-book helpers for tests."""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from aiohttp import web

from okxkc.testing._server import RollingLimiter

from ._auth import _DEFAULT_CREDENTIAL, OkxCredential
from ._book import _Account, _Inst, _Order
from ._checks import _fmt
from ._rest import _RestMixin
from ._sockets import _SocketsMixin
from ._state import _Conn
from ._wire import (
    _DEFAULT_INSTRUMENTS,
    _DEFAULT_SPREADS,
    _INST_TYPES,
    _PENDING,
    _REGIONS,
    _ROW_DEFAULTS,
)

T = TypeVar("T")


class OkxSimulator(_SocketsMixin, _RestMixin):
    """Simulated OKX WS trading API (and the REST calls clients make before trading).

    Start it with ``async with OkxSimulator() as sim:`` or, from blocking code,
    ``with OkxSimulator() as sim:`` (own thread). Connect to ``sim.private_url``,
    ``sim.business_url`` or ``sim.public_url`` and log in with one of ``credentials``.

    Arguments (keyword-only; the switches model behaviour ``protocol/okx.md`` leaves open):

    - ``credentials``: accepted keys (default one ``OkxCredential("okxkc-test-key",
      "okxkc-test-secret", "okxkc-test-pass")``); ``region`` and ``demo`` say which
      environment this server is, so a key of another one fails like on OKX.
    - ``instruments``: instrument rows (``instType`` and ``instId`` required, the rest
      defaulted, ``instIdCode`` assigned if absent); ``spreads``: spread ids.
    - ``host``, ``port`` (0: any free port), ``clock_offset_ms`` (server clock skew),
      ``record`` (keep every trading request in ``received``).
    - ``idle_timeout``: seconds without an inbound frame before close 4004.
    - ``login_window_s``: allowed distance of a login or signed-REST timestamp from
      server time.
    - ``require_inst_id_code``: refuse ``instId``-only items (50014), as production does.
    - ``rate_limits``, ``rate_limit_style`` ("item": 50011 in the item; "top": top-level).
    - ``close_on_login_failure``: close 4001 after a login error.
    - ``reject_relogin``: 60031 on a second login on one socket.
    - ``sprd_times``: add ``inTime``/``outTime`` to ``sprd-*`` and ``mass-cancel`` replies
      (OKX's docs show them only on the order-book ops; the Node ``okx-api`` SDK
      expects them on every reply).
    - ``notice_grace``: seconds between :meth:`send_notice` and the server closing.
    - ``before_login_style``: "response" (``{id, op, code: "60011"}``) or "event".
    - ``tls``: serve ``wss://`` and ``https://`` with a certificate from a throwaway CA
      made at start (needs ``trustme``: ``pip install okxkc[tls]``); ``ca_file`` is
      then the CA's PEM file to trust, ``client_ssl_context()`` a context trusting it.
      Clients such as python-okx speak only ``wss://``.
    - ``keep_closed``: filled/canceled orders kept per account for :meth:`orders` and
      the REST lookups; older ones are forgotten (a cancel of them gets 51400 either way).
    """

    name = "okx"

    def __init__(
        self,
        *,
        credentials: Sequence[OkxCredential] | None = None,
        region: str = "prod",
        demo: bool = False,
        instruments: Sequence[Mapping[str, Any]] | None = None,
        spreads: Sequence[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        clock_offset_ms: int = 0,
        record: bool = True,
        idle_timeout: float = 30.0,
        login_window_s: float = 30.0,
        require_inst_id_code: bool = False,
        rate_limits: bool = True,
        rate_limit_style: str = "item",
        close_on_login_failure: bool = False,
        reject_relogin: bool = False,
        sprd_times: bool = False,
        notice_grace: float = 60.0,
        before_login_style: str = "response",
        keep_closed: int = 100_000,
        tls: bool = False,
    ) -> None:
        super().__init__(
            host=host, port=port, clock_offset_ms=clock_offset_ms, record=record, tls=tls
        )
        if region not in _REGIONS:
            raise ValueError(f"region must be one of {sorted(_REGIONS)}, not {region!r}")
        if rate_limit_style not in ("item", "top"):
            raise ValueError("rate_limit_style must be 'item' or 'top'")
        if before_login_style not in ("response", "event"):
            raise ValueError("before_login_style must be 'response' or 'event'")
        self.credentials: tuple[OkxCredential, ...] = tuple(
            credentials if credentials is not None else (_DEFAULT_CREDENTIAL,)
        )
        if not self.credentials:
            raise ValueError("at least one credential is needed")
        if keep_closed < 0:
            raise ValueError("keep_closed must be >= 0")
        self.region = region
        self.demo = demo
        self.idle_timeout = idle_timeout
        self.login_window_s = login_window_s
        self.require_inst_id_code = require_inst_id_code
        self.rate_limits = rate_limits
        self.rate_limit_style = rate_limit_style
        self.close_on_login_failure = close_on_login_failure
        self.reject_relogin = reject_relogin
        self.sprd_times = sprd_times
        self.notice_grace = notice_grace
        self.before_login_style = before_login_style
        self.keep_closed = keep_closed

        self._creds = {c.api_key: c for c in self.credentials}
        self._accounts = {c.api_key: _Account(c.api_key, keep_closed) for c in self.credentials}
        self._instruments = self._build_instruments(
            instruments if instruments is not None else _DEFAULT_INSTRUMENTS
        )
        self._by_id = {i.inst_id: i for i in self._instruments}
        self._by_code = {i.code: i for i in self._instruments}
        self.spreads: tuple[str, ...] = tuple(spreads if spreads is not None else _DEFAULT_SPREADS)
        self._spreads = frozenset(self.spreads)
        self._conns: dict[web.WebSocketResponse, _Conn] = {}
        # OKX order ids are 18-19 digit decimal strings that grow over time.
        self._ids = itertools.count(700_000_000_000_000_001)
        self._locks: dict[tuple[str, str], int] = {}  # (account, instFamily) -> until ms
        self._ops = self._build_ops()
        # OKX: 60 order lookups per 2 s per user (shared by /trade/order and /sprd/order here).
        self._rest_limiter = RollingLimiter(60, 2.0)
        # Every signed REST order lookup (path, query, account, code, ts), in order.
        self.lookups: list[dict[str, Any]] = []
        self.faults.supports_queued_execution = True

    # -- configuration ---------------------------------------------------------------
    @staticmethod
    def _build_instruments(rows: Sequence[Mapping[str, Any]]) -> list[_Inst]:
        out: list[_Inst] = []
        used: set[int] = set()
        ids: set[str] = set()
        auto = itertools.count(900_001)
        for src in rows:
            row = dict(_ROW_DEFAULTS)
            row.update(src)
            if row["instType"] not in _INST_TYPES or not row["instId"]:
                raise ValueError(f"instrument needs instType in {sorted(_INST_TYPES)} and instId")
            if "instIdCode" not in src:
                row["instIdCode"] = next(c for c in auto if c not in used)
            row["instIdCode"] = int(row["instIdCode"])
            if row["instIdCode"] in used or row["instId"] in ids:
                raise ValueError(f"duplicate instrument {row['instId']} / {row['instIdCode']}")
            used.add(row["instIdCode"])
            ids.add(row["instId"])
            out.append(_Inst(row))
        return out

    # -- typed context managers ----------------------------------------------------------
    async def __aenter__(self) -> OkxSimulator:
        await self.start()
        return self

    def __enter__(self) -> OkxSimulator:
        self.start_in_thread()
        return self

    # -- URLs and lookups ----------------------------------------------------------------
    @property
    def public_url(self) -> str:
        return f"{self.ws_url}/ws/v5/public"

    @property
    def private_url(self) -> str:
        return f"{self.ws_url}/ws/v5/private"

    @property
    def business_url(self) -> str:
        return f"{self.ws_url}/ws/v5/business"

    def inst_id_code(self, inst_id: str) -> int:
        """The ``instIdCode`` of an instrument (KeyError if the simulator does not list it)."""
        return self._by_id[inst_id].code

    def instrument_rows(self) -> list[dict[str, Any]]:
        """The instrument rows REST serves (copies), e.g. for ``ccxt``'s ``set_markets``."""
        return [dict(i.row) for i in self._instruments]

    # -- order book helpers for tests and users (thread-safe) ----------------------------
    def orders(self, api_key: str | None = None) -> list[dict[str, Any]]:
        """Copies of one account's orders (default: the first credential), oldest first.

        Pending orders are all there; of closed ones the most recent ``keep_closed``.
        Spread orders carry ``sprdId`` and ``instType`` "SPRD".
        """
        acct = self._account(api_key)

        def go() -> list[dict[str, Any]]:
            found = [*acct.normal.orders.values(), *acct.spread.orders.values()]
            found.sort(key=lambda o: int(o.ord_id))
            return [o.as_dict() for o in found]

        return self._sync(go)

    def find_order(
        self,
        *,
        ord_id: str | None = None,
        cl_ord_id: str | None = None,
        api_key: str | None = None,
    ) -> dict[str, Any] | None:
        """One order as a dict, by ``ord_id`` or ``cl_ord_id``, or None.

        Without ``api_key`` every account is searched. By ``cl_ord_id`` a pending order
        wins over closed ones, then the most recent closed one.
        """
        if ord_id is None and cl_ord_id is None:
            raise ValueError("give ord_id or cl_ord_id")

        def go() -> dict[str, Any] | None:
            o = self._locate(ord_id, cl_ord_id, api_key)
            return None if o is None else o.as_dict()

        return self._sync(go)

    def fill(self, ord_id: str, sz: str | int | float | Decimal | None = None) -> dict[str, Any]:
        """Fill a pending order in full (``sz=None``) or by ``sz`` more; returns it as a dict.

        KeyError if no such order, ValueError if it is not pending or ``sz`` is not positive.
        """

        def go() -> dict[str, Any]:
            o = self._locate(ord_id, None, None)
            if o is None:
                raise KeyError(ord_id)
            if o.state not in _PENDING:
                raise ValueError(f"order {ord_id} is {o.state}")
            total, done = Decimal(o.sz), Decimal(o.fill_sz)
            try:
                more = total - done if sz is None else Decimal(str(sz))
            except InvalidOperation:
                raise ValueError(f"bad size {sz!r}") from None
            if not more > 0:
                raise ValueError(f"fill size must be positive, not {sz!r}")
            new = min(total, done + more)
            o.fill_sz = _fmt(new)
            o.u_time = self.now_ms()
            if new >= total:
                o.book.close(o, "filled")
            else:
                o.state = "partially_filled"
            return o.as_dict()

        return self._sync(go)

    def _account(self, api_key: str | None) -> _Account:
        key = self.credentials[0].api_key if api_key is None else api_key
        try:
            return self._accounts[key]
        except KeyError:
            raise KeyError(f"no credential with api key {key!r}") from None

    def _locate(
        self, ord_id: str | None, cl_ord_id: str | None, api_key: str | None
    ) -> _Order | None:
        accounts = self._accounts.values() if api_key is None else [self._account(api_key)]
        books = [b for acct in accounts for b in (acct.normal, acct.spread)]
        if ord_id is not None:
            for b in books:
                o = b.orders.get(ord_id)
                if o is not None and (cl_ord_id is None or o.cl_ord_id == cl_ord_id):
                    return o
            return None
        for b in books:
            o = b.by_cl.get(cl_ord_id or "")
            if o is not None:
                return o
        best: _Order | None = None
        for b in books:
            o = b.last_cl.get(cl_ord_id or "")
            if o is not None and (best is None or int(o.ord_id) > int(best.ord_id)):
                best = o
        return best

    def _sync(self, fn: Callable[[], T]) -> T:
        # Mutations run on the simulator's loop so they never interleave with a request
        # half-way. The base's _on_loop defers when already on the loop, which would let
        # an async test read stale state; here the call is direct on the loop thread.
        loop = self._loop
        if loop is None or loop.is_closed() or not loop.is_running():
            return fn()
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            return fn()
        fut: concurrent.futures.Future[T] = concurrent.futures.Future()

        def call() -> None:
            try:
                fut.set_result(fn())
            except BaseException as exc:
                fut.set_exception(exc)

        loop.call_soon_threadsafe(call)
        return fut.result(10)

    # -- routes ----------------------------------------------------------------------
    def add_routes(self, app: web.Application) -> None:
        self._add_socket_routes(app)
        self._add_rest_routes(app)

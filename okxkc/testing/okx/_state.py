"""What the OKX simulator's parts share: its settings and order-book state (declared here,
set by :class:`~okxkc.testing.okx.OkxSimulator`), one socket's session, one op's spec."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from okxkc.testing._server import RollingLimiter, SimulatedExchange

from ._book import _Account, _Inst

if TYPE_CHECKING:  # it builds on _OkxState
    from ._auth import OkxCredential


class _Conn:
    __slots__ = ("account", "conn_id", "idle", "kind", "last_rx", "notice", "path", "ws")

    def __init__(self, ws: web.WebSocketResponse, path: str, conn_id: str, now: float) -> None:
        self.ws = ws
        self.path = path
        self.kind = path.rsplit("/", 1)[1]  # public | private | business
        self.conn_id = conn_id
        self.account: str | None = None
        self.last_rx = now
        self.idle: asyncio.TimerHandle | None = None
        self.notice: asyncio.TimerHandle | None = None


_ItemRun = Callable[[str, _Account, dict[str, Any], int, "set[str] | None"], dict[str, Any]]
_WholeRun = Callable[[str, _Account, dict[str, Any], int], None]
_Fail = Callable[[dict[str, Any], int, str, str], dict[str, Any]]


class _OpSpec:
    __slots__ = ("exp", "fail", "kind", "limiter", "per_inst", "run", "single", "times", "whole")

    def __init__(
        self,
        kind: str,
        single: bool,
        limiter: RollingLimiter,
        *,
        per_inst: bool = False,
        times: bool = True,
        exp: bool = False,
        run: _ItemRun | None = None,
        fail: _Fail | None = None,
        whole: _WholeRun | None = None,
    ) -> None:
        self.kind = kind
        self.single = single
        self.limiter = limiter
        self.per_inst = per_inst
        self.times = times
        self.exp = exp
        self.run = run
        self.fail = fail
        self.whole = whole


class _OkxState(SimulatedExchange):
    """Attributes the simulator's parts read; :class:`OkxSimulator` sets them."""

    credentials: tuple[OkxCredential, ...]
    region: str
    demo: bool
    idle_timeout: float
    login_window_s: float
    require_inst_id_code: bool
    rate_limits: bool
    rate_limit_style: str
    close_on_login_failure: bool
    reject_relogin: bool
    sprd_times: bool
    notice_grace: float
    before_login_style: str
    keep_closed: int
    spreads: tuple[str, ...]
    lookups: list[dict[str, Any]]
    _creds: dict[str, OkxCredential]
    _accounts: dict[str, _Account]
    _instruments: list[_Inst]
    _by_id: dict[str, _Inst]
    _by_code: dict[int, _Inst]
    _spreads: frozenset[str]
    _conns: dict[web.WebSocketResponse, _Conn]
    _ids: itertools.count[int]
    _locks: dict[tuple[str, str], int]
    _ops: dict[str, _OpSpec]
    _rest_limiter: RollingLimiter

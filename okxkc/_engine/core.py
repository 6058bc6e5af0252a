"""The engine side of one client: its connections, id source, HTTP session and events.

Exchange-agnostic: everything exchange-shaped comes from the adapter.
Coroutines here run on the engine loop only.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import aiohttp

from ..errors import ClientClosedError, RequestTimeoutError
from .connection import Connection
from .context import ConnectionContext, EngineOptions, RequestMeta
from .correlator import new_id_source
from .events import EventEmitter
from .loop import engine
from .pacing import Pacer
from .protocol import Adapter

__all__ = ["ClientCore", "EngineOptions", "RequestMeta"]

_ids = new_id_source()


def _fresh_ids_in_child() -> None:
    # A forked child must not continue the parent's prefix and counter.
    global _ids
    _ids = new_id_source()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_fresh_ids_in_child)


class ClientCore:
    """Connections of one client, keyed by (account index, ws key)."""

    def __init__(
        self,
        adapter: Adapter,
        accounts: Sequence[Any],
        options: EngineOptions,
        emitter: EventEmitter,
    ) -> None:
        self.adapter = adapter
        self.accounts = list(accounts)
        self.options = options
        self.emitter = emitter
        self.loop = engine.loop
        engine.register(self)
        self.next_id = _ids
        self.connections: dict[tuple[int, str], Connection] = {}
        self._http: aiohttp.ClientSession | None = None
        self.closed = False
        #: Per account, when ``pacing=True``: waits to stay under the exchange's limits.
        self.pacers: dict[int, Pacer] | None = {} if options.pacing else None
        #: Awaited before every connect attempt (e.g. server-time sync).
        self.before_connect: Callable[[], Awaitable[None]] | None = None
        #: Settles a request whose reply was lost (the client's resolver): awaited with
        #: (account index, meta, the error); ``None``: the error stands.
        self.on_lost: Callable[[int, RequestMeta, Exception], Awaitable[Any]] | None = None

    # -- events ----------------------------------------------------------------------
    def emit(self, event: str, payload: Mapping[str, Any]) -> None:
        self.emitter.emit(event, payload)

    # -- plumbing --------------------------------------------------------------------
    @property
    def http(self) -> aiohttp.ClientSession:
        if self._http is None:
            # One TLS setting for the websocket and the REST helpers alike.
            self._http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._tls()),
                timeout=aiohttp.ClientTimeout(total=self.options.connect_timeout),
            )
        return self._http

    def _tls(self) -> ssl.SSLContext | bool:
        """``ssl_context``, else a context trusting ``ca_file``, else the system's CAs."""
        ctx = self.options.ssl_context
        if ctx is not None:
            return ctx
        if self.options.ca_file is not None:
            return ssl.create_default_context(cafile=self.options.ca_file)
        return True

    def connection(self, account_index: int, ws_key: str) -> Connection:
        conn = self.connections.get((account_index, ws_key))
        if conn is None:
            if self.closed:
                raise ClientClosedError("client is closed")
            ctx = ConnectionContext(
                loop=self.loop,
                adapter=self.adapter,
                options=self.options,
                account=self.accounts[account_index],
                account_index=account_index,
                next_id=self.next_id,
                open_socket=self._open_websocket,
                emit=self.emitter.emit,
                events=self.emitter,
                before_connect=self._before_connect,
                lost=self._lost,
            )
            conn = self.connections[(account_index, ws_key)] = Connection(ctx, ws_key)
        return conn

    async def _open_websocket(self, url: str) -> aiohttp.ClientWebSocketResponse[Any]:
        return await self.http.ws_connect(
            url,
            autoping=True,
            max_msg_size=0,
            compress=0,
            decode_text=False,
            timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=2.0),
        )

    async def _lost(self, account_index: int, meta: RequestMeta, exc: Exception) -> Any:
        hook = self.on_lost
        if hook is None:
            raise exc
        return await hook(account_index, meta, exc)

    async def _before_connect(self) -> None:
        hook = self.before_connect
        if hook is not None:
            await hook()

    # -- requests --------------------------------------------------------------------
    def send(self, account_index: int, meta: RequestMeta) -> Awaitable[Any]:
        """On the engine loop: what :meth:`request` awaits, with no frame of its own.

        The request coroutine of the (account, ws key) connection (or the pacer's
        wrapper of it), for a caller that awaits it at once.
        """
        if self.closed:
            raise ClientClosedError("client is closed")
        conn = self.connections.get((account_index, meta.ws_key)) or self.connection(
            account_index, meta.ws_key
        )
        # Deadlines are monotonic (see correlator): never earlier than the caller asked.
        deadline = time.monotonic() + meta.timeout
        if self.pacers is not None:
            return self._paced(conn, account_index, meta, deadline)
        return conn.request(meta, deadline)

    async def request(self, account_index: int, meta: RequestMeta) -> Any:
        """Send one request on its connection and wait for the reply (or the deadline)."""
        return await self.send(account_index, meta)

    async def _paced(
        self, conn: Connection, account_index: int, meta: RequestMeta, deadline: float
    ) -> Any:
        assert self.pacers is not None
        pacer = self.pacers.get(account_index)
        if pacer is None:
            pacer = self.pacers[account_index] = Pacer()
        costs = self.adapter.pacing_costs(meta.op, meta.args)
        if not costs:
            return await conn.request(meta, deadline)
        try:
            slots = await pacer.acquire(costs, deadline, meta.op)
        except RequestTimeoutError as exc:  # not sent: the error stands, with its request
            return await self._lost(account_index, meta, exc)
        try:
            return await conn.request(meta, deadline)
        finally:
            pacer.release(slots)

    async def connect(self, pairs: Sequence[tuple[int, str]], timeout: float) -> None:
        """Open and authenticate each (account, ws key) now; raise the first failure."""
        if self.closed:
            raise ClientClosedError("client is closed")
        deadline = time.monotonic() + timeout
        results = await asyncio.gather(
            *(self.connection(a, k).connect(deadline) for a, k in pairs), return_exceptions=True
        )
        for r in results:
            if isinstance(r, BaseException):
                raise r

    async def get_json(self, url: str, headers: Mapping[str, str] | None = None) -> Any:
        """A small GET for exchange REST helpers (instruments, server time)."""
        try:
            async with self.http.get(url, headers=headers) as resp:
                return await resp.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise RequestTimeoutError(
                f"GET {url.split('?')[0]} failed: {exc!r}", sent=False
            ) from exc

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        conns = list(self.connections.values())
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
        if self._http is not None:
            await self._http.close()
            self._http = None

    def pending_count(self) -> int:
        # Called from the caller's thread while the engine may add a connection: a copy.
        return sum(len(c.correlator) for c in list(self.connections.values()))

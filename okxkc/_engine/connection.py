"""One logical connection per (account, ws key): keeps one authenticated socket
current, sends requests on it, and reconnects when it is lost.

A connection owns at most one *current* socket and, during a service-upgrade
handover (:mod:`.handover`), old sockets that are draining their in-flight
replies. Each socket has exactly one reader task (:mod:`.dispatch`) and one
heartbeat (:mod:`.heartbeat`); opening and logging in are in :mod:`.sockets` and
:mod:`.handshake`. A login rejection is terminal: waiting and later calls fail
fast with the same ``AuthenticationError`` until ``connect_ws_api()`` is called
again.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Coroutine
from typing import Any

import aiohttp

from ..errors import (
    AuthenticationError,
    ClientClosedError,
    ConnectionLostError,
    RequestTimeoutError,
    ValidationError,
)
from .context import ConnectionContext, RequestMeta
from .correlator import Correlator, Pending
from .dispatch import Dispatcher
from .handover import Handover
from .handshake import login
from .heartbeat import heartbeat
from .sockets import Socket, TransientError, abort, close_socket, open_websocket, writable

__all__ = ["Connection", "backoff"]

_log = logging.getLogger("okxkc.connection")

_TEXT = aiohttp.WSMsgType.TEXT


class Connection:
    """The socket(s) behind one (account, ws key)."""

    def __init__(self, ctx: ConnectionContext, ws_key: str) -> None:
        self.ctx = ctx
        self.ws_key = ws_key
        self.loop = ctx.loop
        self.correlator = Correlator(self.loop)
        self._dispatch = Dispatcher(ctx, ws_key, self.correlator, self._notice, self._ended)
        self._handover = Handover(self, self.correlator, ws_key)
        self._sock: Socket | None = None
        self._ready: asyncio.Future[Socket] | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._gen = 0
        self._ever_open = False
        self._closed = False
        self.auth_error: AuthenticationError | None = None
        self.last_error: BaseException | None = None

    # -- what the handover sees ----------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def current(self) -> Socket | None:
        return self._sock

    def replace(self, old: Socket, new: Socket) -> None:
        # The old socket is no longer current: its end must not trigger a reconnect.
        self._sock = None
        self._install(new)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run a background step of this connection; close() cancels and awaits it."""
        task = self.loop.create_task(coro, name=f"okxkc-{self.ws_key}-step")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- public (engine loop only) ---------------------------------------------------
    async def request(self, meta: RequestMeta, deadline: float) -> Any:
        """Send one request and wait for its reply until ``deadline`` (``time.monotonic()``)."""
        try:
            while True:
                sock = self._sock
                while sock is None or not writable(sock):
                    if sock is not None:
                        # Being cut or closed and the reader has not seen that yet: this
                        # request was not written, so it may wait for the next socket.
                        self._mark_lost(sock)
                    await self._wait_ready(meta, deadline)
                    # Whatever became ready, send on the socket that is current now.
                    sock = self._sock
                ctx = self.ctx
                rid = ctx.next_id()
                try:
                    frame = ctx.adapter.encode(rid, meta.op, meta.args, meta.extras)
                except (TypeError, ValueError, OverflowError) as exc:
                    raise ValidationError(
                        "params", f"cannot be encoded for {meta.op}: {exc}"
                    ) from None
                correlator = self.correlator
                # Registered before the write: a reply, however quick, finds its call.
                entry = correlator.register(rid, meta, sock.gen, deadline, self._timeout_error)
                # Without compression send_frame writes the frame synchronously before its
                # first await (flow control): from here on the request may be on the wire,
                # so a timeout, a cancel or an error while draining is "outcome unknown",
                # never "not sent".
                entry.sent = True
                try:
                    await sock.ws.send_frame(frame, _TEXT)
                except asyncio.CancelledError:
                    correlator.abandon(entry)
                    raise
                except Exception as exc:
                    if _not_written(exc):
                        # The server closed the socket an instant ago: nothing left okxkc,
                        # so the request waits for the next socket like any other.
                        entry.sent = False
                        correlator.pop(rid)
                        self._mark_lost(sock)
                        continue
                    # A failed write means a broken socket: cut it, and the reader fails
                    # every request in flight on it (this one too) with ConnectionLostError.
                    _log.info("write on the %s socket failed (%r): closing it", self.ws_key, exc)
                    self._cut(sock)
                # What is left runs while the request travels: it adds nothing to the round
                # trip (the loop would otherwise wait idle for the reply).
                correlator.arm(entry)
                if _log.isEnabledFor(logging.DEBUG):
                    _log.debug("sent %s %s: %s", self.ws_key, meta.op, frame.decode())
                try:
                    return await entry.future
                except asyncio.CancelledError:
                    self.correlator.abandon(entry)
                    raise
        except (ConnectionLostError, RequestTimeoutError) as exc:
            # Lost (the socket, or no reply by the deadline): settled by lookup when
            # the client resolves unknown outcomes, else the error stands.
            return await self.ctx.lost(self.ctx.account_index, meta, exc)

    async def connect(self, deadline: float) -> None:
        """Connect and authenticate now (``connect_ws_api``); clears a past login rejection."""
        if self.auth_error is not None:
            self.auth_error = None
            self._ready = None
        self._ensure_supervisor()
        await self._wait_ready(None, deadline)

    async def close(self, reason: str = "client closed") -> None:
        if self._closed:
            return
        self._closed = True
        sup = self._supervisor
        if sup is not None:
            sup.cancel()
        tasks = list(self._tasks)
        for t in tasks:
            t.cancel()
        socks = ([self._sock] if self._sock else []) + list(self._handover.draining)
        self._sock = None
        self._handover.draining.clear()
        exc_for: Callable[[Pending], BaseException] = lambda e: ClientClosedError(  # noqa: E731
            f"client closed with {e.meta.op} in flight on {self.ws_key}: outcome unknown — "
            "reconcile by client order id"
        )
        self.correlator.fail(exc_for)
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(ClientClosedError(reason))
            self._ready.exception()  # mark retrieved
        for s in socks:
            await close_socket(s, 1000)
        # Nothing of this connection may outlive close(): supervisor, handover and
        # closing tasks, readers and heartbeats.
        waits: list[asyncio.Future[Any]] = [*tasks]
        if sup is not None:
            waits.append(sup)
        for s in socks:
            for job in (s.reader, s.heartbeat):
                if job is not None:
                    waits.append(job)
        if waits:
            finished, stuck = await asyncio.wait(waits, timeout=3.0)
            for fut in stuck:
                fut.cancel()
            for fut in finished:
                if not fut.cancelled():
                    fut.exception()  # retrieved: a failure here is already logged
        self.ctx.emit("close", {"wsKey": self.ws_key, "account": self.ctx.account_index})

    # -- readiness -------------------------------------------------------------------
    def _ensure_supervisor(self) -> None:
        if self._supervisor is None or self._supervisor.done():
            if self._ready is None or self._ready.done():
                self._ready = self.loop.create_future()
            self._supervisor = self.loop.create_task(
                self._supervise(), name=f"okxkc-{self.ws_key}-supervisor"
            )

    async def _wait_ready(self, meta: RequestMeta | None, deadline: float) -> Socket:
        if self._closed:
            raise ClientClosedError("client is closed")
        if self.auth_error is not None:
            raise self.auth_error
        if self._sock is not None:
            return self._sock
        self._ensure_supervisor()
        ready = self._ready
        assert ready is not None
        while True:
            # A coarse loop clock may wake wait_for a little early: only the monotonic
            # deadline counts.
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                return await asyncio.wait_for(asyncio.shield(ready), remaining)
            except asyncio.TimeoutError:
                continue
        op = meta.op if meta is not None else "connect"
        last = f" (last error: {self.last_error!r})" if self.last_error else ""
        raise RequestTimeoutError(
            f"{op} was not sent: no authenticated {self.ws_key} connection within the "
            f"deadline{last}",
            sent=False,
            ws_key=self.ws_key,
            op=op,
        )

    # -- the supervisor: connect, wait for loss, reconnect ----------------------------
    async def _supervise(self) -> None:
        attempt = 0
        opts = self.ctx.options
        while not self._closed:
            try:
                sock = await self.open_socket()
            except AuthenticationError as exc:
                self._auth_failed(exc)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.last_error = exc
                attempt += 1
                delay = backoff(attempt, opts.reconnect_timeout, opts.reconnect_max)
                _log.debug("connect %s failed (%r); retry in %.2fs", self.ws_key, exc, delay)
                self.ctx.emit(
                    "exception",
                    {"wsKey": self.ws_key, "account": self.ctx.account_index, "error": repr(exc)},
                )
                await asyncio.sleep(delay)
                continue
            attempt = 0
            self._install(sock)
            await self._lost.wait()
            self._lost.clear()
            if self._closed:
                return
            self.ctx.emit("reconnect", {"wsKey": self.ws_key, "account": self.ctx.account_index})
            attempt = 1
            await asyncio.sleep(backoff(attempt, opts.reconnect_timeout, opts.reconnect_max))

    def _auth_failed(self, exc: AuthenticationError) -> None:
        self.auth_error = exc
        self.last_error = exc
        ready = self._ready
        if ready is not None and not ready.done():
            ready.set_exception(exc)
            ready.exception()
        self.correlator.fail(lambda _e: exc)
        self.ctx.emit(
            "exception",
            {
                "wsKey": self.ws_key,
                "account": self.ctx.account_index,
                "error": str(exc),
                "code": exc.code,
                "authentication": True,
            },
        )

    async def open_socket(self) -> Socket:
        """Open one socket and log in on it (not installed)."""
        try:
            await self.ctx.before_connect()
        except Exception as exc:
            raise TransientError(f"before-connect step failed: {exc!r}") from exc
        ws = await open_websocket(self.ctx, self.ws_key)
        self._gen += 1
        return await login(self.ctx, self.ws_key, ws, self._gen)

    def _install(self, sock: Socket) -> None:
        was_open = self._ever_open
        self._ever_open = True
        self.auth_error = None
        self.last_error = None
        self._sock = sock
        ctx = self.ctx
        sock.last_rx = self.loop.time()
        sock.reader = self.loop.create_task(
            self._dispatch.read(sock), name=f"okxkc-{self.ws_key}-reader"
        )
        sock.heartbeat = self.loop.create_task(
            heartbeat(sock, ctx.adapter, ctx.next_id, self._cut, self.ws_key),
            name=f"okxkc-{self.ws_key}-heartbeat",
        )
        ready = self._ready
        if ready is not None and not ready.done():
            ready.set_result(sock)
        self._ready = None
        info = {
            "wsKey": self.ws_key,
            "account": ctx.account_index,
            "wsUrl": ctx.adapter.public_url(self.ws_key),
        }
        ctx.emit("reconnected" if was_open else "open", info)
        ctx.emit("authenticated", {"wsKey": self.ws_key, "account": ctx.account_index})

    # -- a socket's end ----------------------------------------------------------------
    def _notice(self, sock: Socket) -> None:
        self._handover.on_notice(sock)

    def _ended(self, sock: Socket, reason: str) -> None:
        if sock.heartbeat is not None:
            sock.heartbeat.cancel()
        self._handover.ended(sock)
        n = self.correlator.fail(
            lambda e: ConnectionLostError(
                f"connection lost ({reason}) with {e.meta.op} in flight on {self.ws_key}: "
                "outcome unknown — reconcile by client order id (clOrdId / clientOid); "
                "okxkc does not re-send",
                ws_key=self.ws_key,
                op=e.meta.op,
            ),
            socket_gen=sock.gen,
        )
        if n:
            _log.info(
                "%d request(s) in flight lost with the %s socket (%s)", n, self.ws_key, reason
            )
        if sock is self._sock:
            self._mark_lost(sock)

    def _mark_lost(self, sock: Socket) -> None:
        """The current socket is gone (or going): new calls wait for the next one."""
        if sock is not self._sock:
            return
        self._sock = None
        self._handover.running = False
        if not self._closed:
            self._ready = self.loop.create_future()
            self._lost.set()

    def _cut(self, sock: Socket) -> None:
        abort(sock, self.spawn)

    def _timeout_error(self, entry: Pending) -> BaseException:
        meta = entry.meta
        if entry.sent:
            text = (
                f"no reply to {meta.op} (id {entry.request_id}) on {self.ws_key} within "
                f"{meta.timeout}s: outcome unknown — reconcile by client order id "
                "(clOrdId / clientOid); a late reply is emitted as 'late_response'"
            )
        else:
            text = f"{meta.op} timed out before it was sent on {self.ws_key}"
        return RequestTimeoutError(text, sent=entry.sent, ws_key=self.ws_key, op=meta.op)


def _not_written(exc: Exception) -> bool:
    """Whether a failed ``send_frame`` certainly wrote nothing.

    aiohttp checks the transport before writing and raises
    ``ClientConnectionResetError("Cannot write to closing transport")``; after
    writing, a lost connection surfaces from flow control with another message.
    There is no public "is the transport closing" query to ask first (see
    :func:`.sockets.writable`), so the message tells the two apart; should a
    future aiohttp word it differently, the call ends as "connection lost, outcome
    unknown" (the safe side: never re-sent).
    """
    return isinstance(exc, aiohttp.ClientConnectionResetError) and "closing transport" in str(exc)


def backoff(attempt: int, base: float, cap: float) -> float:
    """Capped exponential backoff with jitter (half to full of the step).

    The exponent is bounded so that hours of failed attempts cannot overflow.
    """
    step: float = min(cap, base * 2.0 ** min(max(attempt - 1, 0), 64))
    return step * random.uniform(0.5, 1.0)

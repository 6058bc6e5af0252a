"""One logical connection per (account, ws key): connect, authenticate, heartbeat,
read, reconnect, and hand replies to the correlator.

A connection owns at most one *current* socket and, during a service-upgrade
handover, old sockets that are draining their in-flight replies
(make-before-break). Each socket has exactly one reader task. A login rejection
is terminal: waiting and later calls fail fast with the same
``AuthenticationError`` until ``connect_ws_api()`` is called again.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import aiohttp

from ..errors import (
    AuthenticationError,
    ClientClosedError,
    ConnectionLostError,
    ExchangeError,
    RequestTimeoutError,
    ValidationError,
)
from .correlator import Correlator, Pending
from .protocol import Incoming, Kind

if TYPE_CHECKING:
    from .core import ClientCore, RequestMeta

__all__ = ["Connection"]

_log = logging.getLogger("okxkc.connection")

# Frames larger than this are not parsed (reported as an exception event).
MAX_FRAME = 8 * 1024 * 1024

_TEXT = aiohttp.WSMsgType.TEXT
_BINARY = aiohttp.WSMsgType.BINARY


class _Socket:
    __slots__ = (
        "draining",
        "gen",
        "heartbeat",
        "last_rx",
        "ping_interval",
        "pong_timeout",
        "reader",
        "ws",
    )

    def __init__(self, ws: aiohttp.ClientWebSocketResponse[Any], gen: int) -> None:
        self.ws = ws
        self.gen = gen
        self.draining = False
        self.last_rx = 0.0
        self.ping_interval = 15.0
        self.pong_timeout = 5.0
        self.reader: asyncio.Task[None] | None = None
        self.heartbeat: asyncio.Task[None] | None = None


class _TransientError(Exception):
    """The socket could not be opened or closed during login: try again later."""


class Connection:
    """The socket(s) behind one (account, ws key)."""

    def __init__(self, core: ClientCore, account_index: int, ws_key: str) -> None:
        self.core = core
        self.account_index = account_index
        self.ws_key = ws_key
        self.loop = core.loop
        self.correlator = Correlator(self.loop)
        self._sock: _Socket | None = None
        self._draining: set[_Socket] = set()
        self._ready: asyncio.Future[_Socket] | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._upgrading = False
        self._gen = 0
        self._ever_open = False
        self._closed = False
        self.auth_error: AuthenticationError | None = None
        self.last_error: BaseException | None = None
        self.connects = 0

    # -- public (engine loop only) ---------------------------------------------------
    @property
    def ready(self) -> bool:
        return self._sock is not None

    async def request(self, meta: RequestMeta, deadline: float) -> Any:
        """Send one request and wait for its reply until ``deadline`` (``time.monotonic()``)."""
        sock = self._sock
        while sock is None or not _writable(sock.ws):
            if sock is not None:
                # The server closed it and the reader has not seen that yet: this
                # request was not written, so it may wait for the next socket.
                self._mark_lost(sock)
            await self._wait_ready(meta, deadline)
            # Whatever became ready, send on the socket that is current now.
            sock = self._sock
        core = self.core
        rid = core.next_id()
        try:
            frame = core.adapter.encode(rid, meta.op, meta.args, meta.extras)
        except (TypeError, ValueError, OverflowError) as exc:
            raise ValidationError("params", f"cannot be encoded for {meta.op}: {exc}") from None
        entry = self.correlator.add(rid, meta, sock.gen, deadline, self._timeout_error)
        if _log.isEnabledFor(logging.DEBUG):
            _log.debug("send %s %s: %s", self.ws_key, meta.op, frame.decode())
        # Without compression send_frame writes the frame synchronously before its first
        # await (flow control): from here on the request may be on the wire, so a
        # timeout, a cancel or an error while draining is "outcome unknown", never
        # "not sent".
        entry.sent = True
        try:
            await sock.ws.send_frame(frame, _TEXT)
        except asyncio.CancelledError:
            self.correlator.abandon(entry)
            raise
        except Exception as exc:
            # A failed write means a broken socket: cut it, and the reader fails every
            # request in flight on it (this one too) with ConnectionLostError.
            _log.info("write on the %s socket failed (%r): closing it", self.ws_key, exc)
            self._abort(sock)
        try:
            return await entry.future
        except asyncio.CancelledError:
            self.correlator.abandon(entry)
            raise

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
        socks = ([self._sock] if self._sock else []) + list(self._draining)
        self._sock = None
        self._draining.clear()
        exc_for: Callable[[Pending], BaseException] = lambda e: ClientClosedError(  # noqa: E731
            f"client closed with {e.meta.op} in flight on {self.ws_key}: outcome unknown — "
            "reconcile by client order id"
        )
        self.correlator.fail(exc_for)
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(ClientClosedError(reason))
            self._ready.exception()  # mark retrieved
        for s in socks:
            await self._close_socket(s, 1000)
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
        self.core.emit("close", {"wsKey": self.ws_key, "account": self.account_index})

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run a background step of this connection; close() cancels and awaits it."""
        task = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- readiness -------------------------------------------------------------------
    def _ensure_supervisor(self) -> None:
        if self._supervisor is None or self._supervisor.done():
            if self._ready is None or self._ready.done():
                self._ready = self.loop.create_future()
            self._supervisor = self.loop.create_task(self._supervise())

    async def _wait_ready(self, meta: RequestMeta | None, deadline: float) -> _Socket:
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
        opts = self.core.options
        while not self._closed:
            try:
                sock = await self._open()
            except AuthenticationError as exc:
                self._auth_failed(exc)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.last_error = exc
                attempt += 1
                delay = _backoff(attempt, opts.reconnect_timeout, opts.reconnect_max)
                _log.debug("connect %s failed (%r); retry in %.2fs", self.ws_key, exc, delay)
                self.core.emit(
                    "exception",
                    {"wsKey": self.ws_key, "account": self.account_index, "error": repr(exc)},
                )
                await asyncio.sleep(delay)
                continue
            attempt = 0
            self._install(sock)
            await self._lost.wait()
            self._lost.clear()
            if self._closed:
                return
            self.core.emit("reconnect", {"wsKey": self.ws_key, "account": self.account_index})
            attempt = 1
            await asyncio.sleep(_backoff(attempt, opts.reconnect_timeout, opts.reconnect_max))

    def _auth_failed(self, exc: AuthenticationError) -> None:
        self.auth_error = exc
        self.last_error = exc
        ready = self._ready
        if ready is not None and not ready.done():
            ready.set_exception(exc)
            ready.exception()
        self.correlator.fail(lambda _e: exc)
        self.core.emit(
            "exception",
            {
                "wsKey": self.ws_key,
                "account": self.account_index,
                "error": str(exc),
                "code": exc.code,
                "authentication": True,
            },
        )

    async def _open(self) -> _Socket:
        """Open one socket and log in on it."""
        core = self.core
        adapter = core.adapter
        account = core.accounts[self.account_index]
        if core.before_connect is not None:
            try:
                await core.before_connect()
            except Exception as exc:
                raise _TransientError(f"before-connect step failed: {exc!r}") from exc
        url = adapter.ws_url(self.ws_key, account)
        timeout = core.options.connect_timeout
        try:
            ws = await core.http.ws_connect(
                url,
                autoping=True,
                max_msg_size=0,
                compress=0,
                decode_text=False,
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=2.0),
            )
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status in (401, 403):
                raise AuthenticationError(
                    f"the server refused the connection (HTTP {exc.status})", ws_key=self.ws_key
                ) from None
            raise _TransientError(f"handshake failed: HTTP {exc.status}") from None
        except (aiohttp.ClientError, OSError) as exc:
            # Only the exception's type and OS error: some aiohttp errors quote the full
            # URL, whose query carries signatures (KuCoin).
            errno = getattr(exc, "errno", None) or getattr(
                getattr(exc, "os_error", None), "errno", None
            )
            detail = type(exc).__name__ + (f" (errno {errno})" if errno else "")
            raise _TransientError(
                f"cannot connect to {adapter.public_url(self.ws_key)}: {detail}"
            ) from None
        self.connects += 1
        self._gen += 1
        sock = _Socket(ws, self._gen)
        try:
            state, step = adapter.auth_begin(self.ws_key, account, core.next_id())
            ping_interval = core.options.ping_interval
            pong_timeout = core.options.pong_timeout
            async with _timeout(timeout):
                while True:
                    for frame in step.send:
                        await ws.send_str(frame)
                    if step.error is not None:
                        raise step.error
                    if step.done:
                        break
                    msg = await ws.receive()
                    if msg.type is _TEXT or msg.type is _BINARY:
                        step = adapter.auth_feed(state, msg.data.decode("utf-8", "replace"))
                    else:
                        raise _TransientError(
                            f"socket closed during login ({msg.type.name}, {ws.close_code})"
                        )
            if ping_interval is None:
                ping_interval = step.ping_interval or adapter.default_ping_interval
            if pong_timeout is None:
                pong_timeout = step.pong_timeout or 5.0
            sock.ping_interval = ping_interval
            sock.pong_timeout = pong_timeout
        except AuthenticationError as exc:
            exc.ws_key = exc.ws_key or self.ws_key
            await ws.close()
            raise
        except asyncio.TimeoutError:
            await ws.close()
            raise _TransientError(f"no login answer within {timeout}s") from None
        except BaseException:
            await ws.close()
            raise
        return sock

    def _install(self, sock: _Socket) -> None:
        was_open = self._ever_open
        self._ever_open = True
        self.auth_error = None
        self.last_error = None
        self._sock = sock
        sock.last_rx = self.loop.time()
        sock.reader = self.loop.create_task(self._read(sock))
        sock.heartbeat = self.loop.create_task(self._heartbeat(sock))
        ready = self._ready
        if ready is not None and not ready.done():
            ready.set_result(sock)
        self._ready = None
        info = {
            "wsKey": self.ws_key,
            "account": self.account_index,
            "wsUrl": self.core.adapter.public_url(self.ws_key),
        }
        self.core.emit("reconnected" if was_open else "open", info)
        self.core.emit("authenticated", {"wsKey": self.ws_key, "account": self.account_index})

    # -- reading ---------------------------------------------------------------------
    async def _read(self, sock: _Socket) -> None:
        ws = sock.ws
        loop = self.loop
        reason = "closed"
        try:
            while True:
                msg = await ws.receive()
                t = msg.type
                if t is _TEXT or t is _BINARY:
                    sock.last_rx = loop.time()
                    self._on_frame(sock, msg.data)
                elif t is aiohttp.WSMsgType.ERROR:
                    reason = f"error: {msg.data!r}"
                    break
                else:
                    reason = f"{t.name} {ws.close_code}"
                    break
        except asyncio.CancelledError:
            reason = "cancelled"
            raise
        except Exception as exc:  # pragma: no cover - defensive: a bug must not hang calls
            reason = f"reader failed: {exc!r}"
            _log.exception("okxkc reader for %s failed", self.ws_key)
        finally:
            self._socket_ended(sock, reason)

    def _on_frame(self, sock: _Socket, data: str | bytes) -> None:
        core = self.core
        if len(data) > MAX_FRAME:
            self._hostile(f"frame of {len(data)} bytes ignored (limit {MAX_FRAME})", None)
            return
        try:
            inc = core.adapter.classify(data)
        except Exception as exc:
            self._hostile(f"unparseable frame ignored: {exc}", data)
            return
        kind = inc.kind
        if kind == Kind.RESPONSE:
            rid = inc.request_id
            assert rid is not None
            entry = self.correlator.pop(rid)
            if entry is None:
                self._unmatched(inc, rid)
            else:
                self._settle(entry, inc)
        elif kind == Kind.PONG:
            return
        elif kind == Kind.NOTICE:
            desc = core.adapter.describe(inc)
            _log.info("service notice on %s: %s", self.ws_key, desc)
            core.emit("notice", {"wsKey": self.ws_key, "account": self.account_index, **desc})
            if sock is self._sock and not self._upgrading and not self._closed:
                self._upgrading = True
                self._spawn(self._upgrade(sock))
        elif kind == Kind.ERROR:
            desc = core.adapter.describe(inc)
            _log.warning("error frame on %s: %s", self.ws_key, desc)
            core.emit(
                "exception",
                {
                    "wsKey": self.ws_key,
                    "account": self.account_index,
                    "isWSAPIResponse": False,
                    **desc,
                },
            )
        else:
            self._hostile("unrecognised frame", data)

    def _settle(self, entry: Pending, inc: Incoming) -> None:
        core = self.core
        fut = entry.future
        try:
            result = core.adapter.finish(entry.meta, inc, self.ws_key)
        except ExchangeError as exc:
            if not fut.done():
                fut.set_exception(exc)
            if core.emitter.wants("exception"):
                core.emit("exception", self._reply_event(inc))
            return
        except Exception as exc:
            # The reply did not fit the op's result type: the exchange answered, so
            # the caller gets an error that carries the raw reply.
            err = ExchangeError(
                "decode",
                f"reply could not be decoded: {exc}",
                core.adapter.describe(inc),
                op=entry.meta.op,
            )
            if not fut.done():
                fut.set_exception(err)
            return
        if not fut.done():
            fut.set_result(result)
        if core.emitter.wants("response"):
            core.emit("response", self._reply_event(inc))

    def _reply_event(self, inc: Incoming) -> dict[str, Any]:
        return {
            **self.core.adapter.describe(inc),
            "wsKey": self.ws_key,
            "account": self.account_index,
            "isWSAPIResponse": True,
        }

    def _unmatched(self, inc: Incoming, rid: str) -> None:
        late = self.correlator.pop_late(rid)
        desc = self.core.adapter.describe(inc)
        if late is not None:
            _log.info(
                "late reply to %s (id %s) on %s, after its caller stopped waiting: %s",
                late.meta.op,
                rid,
                self.ws_key,
                desc,
            )
            self.core.emit(
                "late_response",
                {
                    "wsKey": self.ws_key,
                    "account": self.account_index,
                    "isWSAPIResponse": True,
                    "response": desc,
                    "request": late.meta.describe(rid),
                },
            )
        else:
            self._hostile(f"reply to unknown request id {rid!r}", desc)

    def _hostile(self, what: str, data: Any) -> None:
        # Nobody's call carries this: it is worth a warning.
        _log.warning("%s on %s", what, self.ws_key)
        preview = data[:200] if isinstance(data, (str, bytes)) else data
        self.core.emit(
            "exception",
            {"wsKey": self.ws_key, "account": self.account_index, "error": what, "frame": preview},
        )

    def _socket_ended(self, sock: _Socket, reason: str) -> None:
        if sock.heartbeat is not None:
            sock.heartbeat.cancel()
        self._draining.discard(sock)
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

    def _mark_lost(self, sock: _Socket) -> None:
        """The current socket is gone (or going): new calls wait for the next one."""
        if sock is not self._sock:
            return
        self._sock = None
        self._upgrading = False
        if not self._closed:
            self._ready = self.loop.create_future()
            self._lost.set()

    # -- heartbeat -------------------------------------------------------------------
    async def _heartbeat(self, sock: _Socket) -> None:
        loop = self.loop
        adapter = self.core.adapter
        while True:
            await asyncio.sleep(sock.ping_interval)
            sent_at = loop.time()
            try:
                await sock.ws.send_str(adapter.ping_frame(self.core.next_id()))
            except Exception:
                return  # the reader sees the close
            await asyncio.sleep(sock.pong_timeout)
            if sock.last_rx < sent_at:
                _log.info(
                    "no pong within %.1fs on %s: reconnecting", sock.pong_timeout, self.ws_key
                )
                self._abort(sock)
                return

    # -- service upgrade: make before break ------------------------------------------
    async def _upgrade(self, old: _Socket) -> None:
        try:
            new = await self._open()
        except Exception as exc:
            _log.info("could not open a new %s socket after a notice: %r", self.ws_key, exc)
            self._upgrading = False
            return
        if self._closed or old is not self._sock:
            await self._close_socket(new, 1000)
            return
        old.draining = True
        self._draining.add(old)
        # The old socket is no longer current: its end must not trigger a reconnect.
        self._sock = None
        self._install(new)
        self._upgrading = False
        # Break only after every request written to the old socket has ended (reply,
        # deadline or cancel); the server answers them meanwhile.
        self.correlator.when_idle(old.gen, lambda: self._retire(old))

    def _retire(self, sock: _Socket) -> None:
        if not self._closed and not sock.ws.closed:
            _log.debug("drained the old %s socket: closing it", self.ws_key)
            self._spawn(self._close_socket(sock, 1000))

    # -- closing ---------------------------------------------------------------------
    def _abort(self, sock: _Socket) -> None:
        transport = getattr(getattr(sock.ws, "_response", None), "connection", None)
        transport = getattr(transport, "transport", None)
        if transport is not None:
            transport.abort()
        else:
            self._spawn(self._close_socket(sock, 1006))

    async def _close_socket(self, sock: _Socket, code: int) -> None:
        try:
            await sock.ws.close(code=code)
        except Exception:
            pass

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


def _backoff(attempt: int, base: float, cap: float) -> float:
    """Capped exponential backoff with jitter (half to full of the step).

    The exponent is bounded so that hours of failed attempts cannot overflow.
    """
    step: float = min(cap, base * 2.0 ** min(max(attempt - 1, 0), 64))
    return step * random.uniform(0.5, 1.0)


def _writable(ws: aiohttp.ClientWebSocketResponse[Any]) -> bool:
    """False once the socket is closing: a frame sent now would never leave."""
    if ws.closed:
        return False
    transport = getattr(getattr(ws, "_writer", None), "transport", None)
    return transport is None or not transport.is_closing()


class _timeout:
    """``asyncio.timeout`` for Python 3.10 too."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._handle: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[Any] | None = None
        self._expired = False

    async def __aenter__(self) -> None:
        self._task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        self._handle = loop.call_later(self._seconds, self._expire)

    def _expire(self) -> None:
        self._expired = True
        if self._task is not None:
            self._task.cancel()

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        if self._handle is not None:
            self._handle.cancel()
        if self._expired and exc_type is asyncio.CancelledError:
            raise asyncio.TimeoutError
        return False

"""The KuCoin WS API socket: URL login, the session challenge, ping/pong and idle
close, then each request's envelope, rate-limit pool, op and (faulty) reply."""

from __future__ import annotations

import asyncio
import hmac
import time
import uuid
from typing import Any

import attrs
import msgspec
from aiohttp import WSMsgType, web

from .._server import RollingLimiter, SimulatedExchange, _abort
from .auth import b64_hmac, check_url, parse_query
from .book import Account, Book
from .ops import Handler
from .wire import (
    AUTH_CLOSE_CODE,
    AUTH_MESSAGES,
    BAD_ID_CODE,
    DEFAULT_LOGIN_REJECTION,
    HAS_SEND_FRAME,
    IDLE_CLOSE_CODE,
    MSG_BAD_ID,
    MSG_INVALID_JSON,
    MSG_INVALID_OP,
    MSG_NOT_OBJECT,
    MSG_TOO_MANY,
    OK,
    PARAM_ERROR,
    RATE_LIMITED,
    OpError,
    decode,
    encode,
)


@attrs.define(slots=True, eq=False)
class Conn:
    """One verified session."""

    ws: web.WebSocketResponse
    acct: Account
    ns: bool
    session_id: str = ""
    last_rx: float = 0.0
    timer: asyncio.TimerHandle | None = None


class KucoinSessions(SimulatedExchange):
    """The socket side of the simulator; :class:`~okxkc.testing.kucoin.KucoinSimulator`
    sets the attributes below."""

    book: Book
    partners: dict[str, str]
    timestamp_window_ms: int
    challenge_timeout: float
    pretty_challenge: bool
    ping_interval_ms: int
    ping_timeout_ms: int
    idle_timeout: float
    rate_limits: bool
    rate_limit_key: str
    enable_ns_default: bool
    _pools: dict[str, RollingLimiter]
    _full_pools: dict[str, dict[str, int]]
    _handlers: dict[str, tuple[Handler, str, int]]
    _conns: dict[web.WebSocketResponse, Conn]

    def _close_later(self, ws: web.WebSocketResponse, code: int, message: bytes) -> None:
        if ws.closed:
            return

        async def go() -> None:
            await ws.close(code=code, message=message)

        self._spawn(go())

    # -- connection handling -------------------------------------------------------------------
    def _stamp(self, ns: bool) -> int:
        if ns:
            return time.time_ns() + self.clock_offset_ms * 1_000_000
        return int(time.time() * 1000) + self.clock_offset_ms

    def _conn_error(self, code: str, msg: str, ns: bool) -> bytes:
        t = self._stamp(ns)
        return encode({"code": code, "msg": msg, "inTime": t, "outTime": t})

    def _check_url(self, query: dict[str, str]) -> tuple[Account | None, str | None]:
        """The URL login checks in KuCoin's order; (account, None) or (None, error code)."""
        return check_url(
            self.book.accounts,
            query,
            now_ms=self.now_ms(),
            window_ms=self.timestamp_window_ms,
            partners=self.partners,
        )

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(compress=False, timeout=5.0)
        if not ws.can_prepare(request).ok:
            return web.Response(status=400, text="expected a WebSocket upgrade")
        await ws.prepare(request)
        self.track(ws)
        try:
            await self._session(ws, request)
        finally:
            self.untrack(ws)
            self._conns.pop(ws, None)
            if not ws.closed:
                await ws.close()
        return ws

    async def _fail(self, ws: web.WebSocketResponse, code: str, ns: bool) -> None:
        self.stats["logins_failed"] += 1
        msg = AUTH_MESSAGES.get(code, "Login rejected (simulated)")
        try:
            await self._send(ws, self._conn_error(code, msg, ns))
            await ws.close(code=AUTH_CLOSE_CODE, message=msg.encode()[:120])
        except ConnectionError:
            pass

    async def _session(self, ws: web.WebSocketResponse, request: web.Request) -> None:
        query = parse_query(request.rel_url.raw_query_string)
        ns = query.get("enable_ns", "").lower() == "true" or self.enable_ns_default
        rejected, forced_code = self.faults.take_login_rejection()
        acct, code = self._check_url(query)
        if rejected:
            code = forced_code or DEFAULT_LOGIN_REJECTION
        if code is not None or acct is None:
            await self._fail(ws, code or "400001", ns)
            return

        # The session challenge: the client signs exactly the text we send.
        session_id = str(uuid.uuid4())
        ts = self.now_ms()
        if self.pretty_challenge:
            challenge = f'{{"sessionId": "{session_id}", "timestamp": {ts}}}'
        else:
            challenge = f'{{"sessionId":"{session_id}","timestamp":{ts}}}'
        await self._send(ws, challenge.encode())
        try:
            msg = await ws.receive(timeout=self.challenge_timeout)
        except asyncio.TimeoutError:
            await self._fail(ws, "400012", ns)
            return
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
            return
        wanted = b64_hmac(acct.secret, challenge)
        if msg.type is not WSMsgType.TEXT or not hmac.compare_digest(
            str(msg.data).encode(), wanted.encode()
        ):
            await self._fail(ws, "400011", ns)
            return
        welcome = {
            "sessionId": session_id,
            "data": "welcome",
            "pingInterval": self.ping_interval_ms,
            "pingTimeout": self.ping_timeout_ms,
        }
        # Counted before sending: a client on another thread may look right after the welcome.
        self.stats["logins_ok"] += 1
        await self._send(ws, encode(welcome))
        conn = Conn(ws, acct, ns)
        conn.session_id = session_id
        self._conns[ws] = conn
        try:
            await self._serve(conn)
        finally:
            if conn.timer is not None:
                conn.timer.cancel()

    def _arm_idle(self, conn: Conn) -> None:
        if conn.ws.closed:
            return
        loop = asyncio.get_running_loop()
        left = conn.last_rx + self.idle_timeout - loop.time()
        if left > 0:
            conn.timer = loop.call_later(left, self._arm_idle, conn)
            return
        # No client frame within pingInterval + pingTimeout: KuCoin drops such links.
        self.stats["idle_closes"] += 1
        self._close_later(conn.ws, IDLE_CLOSE_CODE, b"ping timeout")

    async def _serve(self, conn: Conn) -> None:
        ws = conn.ws
        loop = asyncio.get_running_loop()
        conn.last_rx = loop.time()
        if self.idle_timeout > 0:
            self._arm_idle(conn)
        receive = ws.receive
        text, binary = WSMsgType.TEXT, WSMsgType.BINARY
        while True:
            msg = await receive()
            if msg.type is text or msg.type is binary:
                conn.last_rx = loop.time()
                if not await self._on_frame(conn, msg.data):
                    return
            else:
                return

    async def _on_frame(self, conn: Conn, data: str | bytes) -> bool:
        """Handle one client frame after the welcome; False once the socket was cut."""
        ws = conn.ws
        ns = conn.ns
        in_t = self._stamp(ns)
        try:
            obj = decode(data)
        except (msgspec.DecodeError, UnicodeDecodeError):
            await self._send(ws, self._conn_error(PARAM_ERROR, MSG_INVALID_JSON, ns))
            return True
        if type(obj) is not dict:
            await self._send(ws, self._conn_error(PARAM_ERROR, MSG_NOT_OBJECT, ns))
            return True
        rid = obj.get("id")
        if type(rid) is not str or not rid:
            await self._send(ws, self._conn_error(BAD_ID_CODE, MSG_BAD_ID, ns))
            return True
        op = obj.get("op")
        if op == "ping":
            self.stats["pings"] += 1
            await self._send(ws, encode({"id": rid, "op": "pong", "timestamp": self.now_ms()}))
            return True
        handler = self._handlers.get(op) if isinstance(op, str) else None
        if handler is None or not isinstance(op, str):
            reply: dict[str, Any] = {
                "id": rid,
                "op": op,
                "code": PARAM_ERROR,
                "msg": MSG_INVALID_OP.format(op=op),
                "inTime": in_t,
                "outTime": in_t,
            }
            await self._send(ws, encode(reply))
            return True
        self.stats["requests"] += 1
        if self.record:
            obj["_account"] = conn.acct.cred.api_key
            self.log_request(obj)
        decision = self.faults.decide(op)
        if decision.normal:
            reply = self._process(conn.acct, rid, op, obj.get("args"), handler, in_t)
            reply["outTime"] = self._stamp(ns)
            await self._send(ws, encode(reply))
            return True
        if decision.drop:
            args = obj.get("args")
            if decision.process:
                self._process(conn.acct, rid, op, args, handler, in_t)
            elif decision.execute_after is not None:
                # Still queued at the exchange when the socket died: applied later, with
                # the clock of that moment (an allowMaxTimeWindow may have passed).
                asyncio.get_running_loop().call_later(
                    decision.execute_after, self._process, conn.acct, rid, op, args, handler, in_t
                )
            _abort(ws)
            return False
        reply = self._process(conn.acct, rid, op, obj.get("args"), handler, in_t)
        if decision.reply:
            self._spawn(self._reply_later(ws, reply, decision.delay, ns))
        return True

    async def _reply_later(
        self, ws: web.WebSocketResponse, reply: dict[str, Any], delay: float, ns: bool
    ) -> None:
        await asyncio.sleep(delay)
        if ws.closed:
            return
        reply["outTime"] = self._stamp(ns)
        await self._send(ws, encode(reply))

    def _process(
        self,
        acct: Account,
        rid: str,
        op: str,
        args: Any,
        handler: tuple[Handler, str, int],
        in_t: int,
    ) -> dict[str, Any]:
        fn, pool, weight = handler
        if self.rate_limits:
            limiter = self._pools[pool]
            key = acct.cred.api_key
            now = time.monotonic()
            allowed = limiter.try_take(key, weight, now)
            quota: dict[str, int] = {
                "limit": limiter.limit,
                "reset": limiter.reset_ms(key, now),
                "remaining": limiter.remaining(key, now),
            }
            if not allowed:
                self.stats["rate_limited"] += 1
                return {
                    "id": rid,
                    "op": op,
                    "code": RATE_LIMITED,
                    "msg": MSG_TOO_MANY,
                    "inTime": in_t,
                    "outTime": in_t,
                    self.rate_limit_key: quota,
                }
        else:
            quota = self._full_pools[pool]
        try:
            data = fn(acct, args)
        except OpError as e:
            return {
                "id": rid,
                "op": op,
                "code": e.code,
                "msg": e.msg,
                "inTime": in_t,
                "outTime": in_t,
                self.rate_limit_key: quota,
            }
        return {
            "id": rid,
            "op": op,
            "code": OK,
            "data": data,
            "inTime": in_t,
            "outTime": in_t,
            self.rate_limit_key: quota,
        }

    @staticmethod
    async def _send(ws: web.WebSocketResponse, payload: bytes) -> None:
        try:
            if HAS_SEND_FRAME:
                await ws.send_frame(payload, WSMsgType.TEXT)
            else:  # aiohttp < 3.11
                await ws.send_str(payload.decode())
        except ConnectionError:
            # The client went away mid-reply; its read loop ends on its own.
            pass

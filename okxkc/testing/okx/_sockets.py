"""Socket sessions: the three WebSocket paths, frames, login, subscriptions, faults,
idle close and the service-upgrade notice."""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

import msgspec
from aiohttp import WSMsgType, web

from okxkc.testing._server import _abort

from ._auth import _AuthMixin
from ._state import _Conn
from ._trading import _TradingMixin
from ._wire import _DEC, _ENC, _M_IDLE, _M_NOTICE, _M_WRONG_URL, _send


class _SocketsMixin(_TradingMixin, _AuthMixin):
    def _add_socket_routes(self, app: web.Application) -> None:
        for kind in ("public", "private", "business"):
            app.router.add_get(f"/ws/v5/{kind}", self._ws_handler)

    # -- WebSocket -------------------------------------------------------------------
    def _now_us(self) -> int:
        return time.time_ns() // 1000 + self.clock_offset_ms * 1000

    async def _ws_handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()  # permessage-deflate when the client offers it
        await ws.prepare(request)
        loop = asyncio.get_running_loop()
        conn = _Conn(ws, request.path, secrets.token_hex(4), loop.time())
        self.track(ws)
        self._conns[ws] = conn
        conn.idle = loop.call_later(self.idle_timeout, self._idle_check, conn)
        try:
            while True:
                msg = await ws.receive()
                t = msg.type
                if t is WSMsgType.TEXT:
                    data: str = msg.data
                elif t is WSMsgType.BINARY:
                    data = bytes(msg.data).decode("utf-8", "replace")
                elif t in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    break
                else:
                    continue
                conn.last_rx = loop.time()
                try:
                    if await self._on_frame(conn, data):
                        break
                except ConnectionResetError:
                    break
        finally:
            for handle in (conn.idle, conn.notice):
                if handle is not None:
                    handle.cancel()
            self.untrack(ws)
            self._conns.pop(ws, None)
        return ws

    def _idle_check(self, conn: _Conn) -> None:
        # One timer per socket, pushed forward lazily: cheaper than a timeout per receive.
        conn.idle = None
        if conn.ws.closed:
            return
        loop = asyncio.get_running_loop()
        due = conn.last_rx + self.idle_timeout
        if loop.time() < due:
            conn.idle = loop.call_at(due, self._idle_check, conn)
            return
        self._spawn(self._close(conn, 4004, _M_IDLE))

    def _notice_close(self, conn: _Conn) -> None:
        conn.notice = None
        if not conn.ws.closed:
            self._spawn(self._close(conn, 1001, "Service upgrade"))

    async def _close(self, conn: _Conn, code: int, message: str) -> None:
        try:
            await conn.ws.close(code=code, message=message.encode())
        except ConnectionResetError:
            pass

    async def _send_obj(self, conn: _Conn, obj: dict[str, Any]) -> None:
        await _send(conn.ws, _ENC.encode(obj))

    async def _event_error(self, conn: _Conn, code: str, msg: str) -> None:
        await self._send_obj(
            conn, {"event": "error", "code": code, "msg": msg, "connId": conn.conn_id}
        )

    async def _on_frame(self, conn: _Conn, data: str) -> bool:
        """Handle one inbound frame; True when the socket is gone and the loop must stop."""
        if data == "ping":
            await conn.ws.send_str("pong")
            return False
        env: Any
        try:
            env = _DEC.decode(data)
        except msgspec.DecodeError:
            env = None
        if type(env) is not dict:
            await self._event_error(conn, "60012", f"Invalid request: {data}")
            return False
        op: Any = env.get("op")
        spec = self._ops.get(op) if type(op) is str else None
        if spec is None:
            if op == "login":
                return await self._login(conn, env, data)
            if op in ("subscribe", "unsubscribe"):
                await self._subscribe(conn, env, op, data)
                return False
            if type(op) is str and op:
                await self._event_error(conn, "60019", f"Invalid op: {op}")
            else:
                await self._event_error(conn, "60012", f"Invalid request: {data}")
            return False
        rid = env.get("id")
        if type(rid) is not str or len(rid) > 32 or not (rid.isascii() and rid.isalnum()):
            await self._event_error(conn, "60012", f"Invalid request: {data}")
            return False
        in_us = self._now_us()
        self.stats["requests"] += 1
        if self.record:
            env["_account"] = conn.account
            env["_path"] = conn.path
            self.log_request(env)

        if conn.kind != spec.kind:
            await self._send_obj(
                conn, {"id": rid, "op": op, "code": "60028", "msg": _M_WRONG_URL, "data": []}
            )
            return False
        if conn.account is None:
            if self.before_login_style == "event":
                await self._event_error(conn, "60011", "Please log in")
            else:
                await self._send_obj(
                    conn, {"id": rid, "op": op, "code": "60011", "msg": "Please log in", "data": []}
                )
            return False
        args = env.get("args")
        if type(args) is not list or not (
            (len(args) == 1 and type(args[0]) is dict)
            if spec.single
            else (0 < len(args) <= 20 and all(type(a) is dict for a in args))
        ):
            await self._send_obj(
                conn, {"id": rid, "op": op, "code": "60013", "msg": "Invalid args", "data": []}
            )
            return False

        dec = self.faults.decide(op)
        if dec.normal:
            await self._send_reply(conn.ws, self._process(conn.account, env, op, spec, args, in_us))
            return False
        if dec.drop:
            if dec.process:
                self._process(conn.account, env, op, spec, args, in_us)
            elif dec.execute_after is not None:
                asyncio.get_running_loop().call_later(
                    dec.execute_after, self._process, conn.account, env, op, spec, args, in_us
                )
            _abort(conn.ws)
            return True
        reply = self._process(conn.account, env, op, spec, args, in_us)
        if dec.reply:
            self._spawn(self._send_later(conn.ws, reply, dec.delay))
        return False

    async def _send_reply(self, ws: web.WebSocketResponse, reply: dict[str, Any]) -> None:
        if "inTime" in reply:
            reply["outTime"] = str(self._now_us())
        await _send(ws, _ENC.encode(reply))

    async def _send_later(
        self, ws: web.WebSocketResponse, reply: dict[str, Any], delay: float
    ) -> None:
        await asyncio.sleep(delay)
        if ws.closed:
            return
        try:
            await self._send_reply(ws, reply)
        except ConnectionResetError:
            pass

    async def _subscribe(self, conn: _Conn, env: dict[str, Any], op: str, data: str) -> None:
        # Subscriptions are acknowledged but no channel pushes data: the simulator models
        # order entry, and clients such as ccxt subscribe before trading.
        args = env.get("args")
        if type(args) is not list or not args or any(type(a) is not dict for a in args):
            await self._event_error(conn, "60012", f"Invalid request: {data}")
            return
        if conn.kind == "private" and conn.account is None:
            await self._event_error(conn, "60011", "Please log in")
            return
        rid = env.get("id")
        for a in args:
            ack: dict[str, Any] = {"id": rid} if type(rid) is str else {}
            ack.update(event=op, arg=a, connId=conn.conn_id)
            await self._send_obj(conn, ack)

    # -- login -----------------------------------------------------------------------
    async def _login(self, conn: _Conn, env: dict[str, Any], data: str) -> bool:
        rid = env.get("id")
        head: dict[str, Any] = {"id": rid} if type(rid) is str else {}
        code, text = self._check_login(conn, env.get("args"), data)
        if code == "0":
            self.stats["logins_ok"] += 1
            await self._send_obj(
                conn, {**head, "event": "login", "code": "0", "msg": "", "connId": conn.conn_id}
            )
            return False
        self.stats["logins_failed"] += 1
        await self._send_obj(
            conn, {**head, "event": "error", "code": code, "msg": text, "connId": conn.conn_id}
        )
        if self.close_on_login_failure:
            await self._close(conn, 4001, "Login Failed")
            return True
        return False

    # -- notice ----------------------------------------------------------------------
    def notice_frames(self, conn_id: str = "00000000") -> list[str]:
        """The 64008 service-upgrade notice (one JSON text frame)."""
        frame = {"event": "notice", "code": "64008", "msg": _M_NOTICE, "connId": conn_id}
        return [_ENC.encode(frame).decode()]

    def send_notice(self) -> None:
        """Send the 64008 notice to every socket; each is closed (1001) after ``notice_grace``.

        Requests are still answered during the grace period, as on OKX.
        """

        async def go() -> None:
            loop = asyncio.get_running_loop()
            for conn in list(self._conns.values()):
                if conn.ws.closed:
                    continue
                try:
                    for f in self.notice_frames(conn.conn_id):
                        await conn.ws.send_str(f)
                except ConnectionResetError:
                    continue
                if conn.notice is None:
                    conn.notice = loop.call_later(self.notice_grace, self._notice_close, conn)

        self._on_loop(go)

"""Frame dispatch: one reader task per socket reads frames, the adapter classifies
them, replies settle their pending call (or come out as ``late_response``),
notices start a handover, the rest become events.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import aiohttp

from ..errors import ExchangeError
from .context import ConnectionContext
from .correlator import Correlator, Pending
from .protocol import Incoming, Kind
from .sockets import Socket

__all__ = ["MAX_FRAME", "Dispatcher"]

_log = logging.getLogger("okxkc.connection")

# Frames larger than this are not parsed (reported as an exception event).
MAX_FRAME = 8 * 1024 * 1024

_TEXT = aiohttp.WSMsgType.TEXT
_BINARY = aiohttp.WSMsgType.BINARY
_RESPONSE = Kind.RESPONSE


class Dispatcher:
    """Reads the sockets of one connection and routes what arrives."""

    def __init__(
        self,
        ctx: ConnectionContext,
        ws_key: str,
        correlator: Correlator,
        on_notice: Callable[[Socket], None],
        on_end: Callable[[Socket, str], None],
    ) -> None:
        self.ctx = ctx
        self.ws_key = ws_key
        self.correlator = correlator
        self._on_notice = on_notice
        self._on_end = on_end

    async def read(self, sock: Socket) -> None:
        """The reader task of ``sock``: until it closes; then ``on_end(sock, reason)``.

        A reply decoded in one pass that is a plain success of a pending call (nearly
        every frame) is settled right here, written out; everything else goes through
        :meth:`_reply` or :meth:`_route`.
        """
        ws = sock.ws
        ctx = self.ctx
        loop = ctx.loop
        adapter = ctx.adapter
        classify = adapter.classify
        finish_reply = adapter.finish_reply
        events = ctx.events
        pop = self.correlator.pop
        ws_key = self.ws_key
        reason = "closed"
        try:
            while True:
                msg = await ws.receive()
                t = msg.type
                if t is _TEXT or t is _BINARY:
                    sock.last_rx = loop.time()
                    data = msg.data
                    if len(data) > MAX_FRAME:
                        self.hostile(
                            f"frame of {len(data)} bytes ignored (limit {MAX_FRAME})", None
                        )
                        continue
                    try:
                        inc = classify(data)
                    except Exception as exc:
                        self.hostile(f"unparseable frame ignored: {exc}", data)
                        continue
                    if type(inc) is Incoming:
                        self._route(sock, inc, data)
                        continue
                    entry = pop(inc.id)
                    if entry is not None:
                        try:
                            result = finish_reply(entry.meta, inc, ws_key)
                        except Exception:  # pragma: no cover - finish() words the error
                            result = None
                        if result is not None:
                            fut = entry.future
                            if not fut.done():
                                fut.set_result(result)
                            if "response" in events.listened:
                                inc = Incoming(_RESPONSE, inc, inc.id, None, data)
                                ctx.emit("response", self._reply_event(inc))
                            continue
                    self._reply(entry, Incoming(_RESPONSE, inc, inc.id, None, data))
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
            self._on_end(sock, reason)

    def _reply(self, entry: Pending | None, inc: Incoming) -> None:
        """A reply for ``entry`` (already taken from the correlator) that is not a plain
        one-pass success, or one that no pending call awaits (``None``)."""
        if entry is None:
            rid = inc.request_id
            assert rid is not None
            self._unmatched(inc, rid)
        else:
            self._settle(entry, inc)

    def _route(self, sock: Socket, inc: Incoming, data: str | bytes) -> None:
        """Any frame (``data``) the adapter classified as an :class:`Incoming` record."""
        ctx = self.ctx
        kind = inc.kind
        if kind == _RESPONSE:
            assert inc.request_id is not None
            self._reply(self.correlator.pop(inc.request_id), inc)
        elif kind == Kind.PONG:
            return
        elif kind == Kind.NOTICE:
            desc = ctx.adapter.describe(inc)
            _log.info("service notice on %s: %s", self.ws_key, desc)
            ctx.emit("notice", {"wsKey": self.ws_key, "account": ctx.account_index, **desc})
            self._on_notice(sock)
        elif kind == Kind.ERROR:
            if inc.op is not None:
                # It names the op it refuses: those calls end now, not at their deadline
                # (each reported as its own refusal).
                refused = self.correlator.pop_op(inc.op, sock.gen)
                for entry in refused:
                    self._settle(entry, inc)
                if refused:
                    return
            desc = ctx.adapter.describe(inc)
            _log.warning("error frame on %s: %s", self.ws_key, desc)
            ctx.emit(
                "exception",
                {
                    "wsKey": self.ws_key,
                    "account": ctx.account_index,
                    "isWSAPIResponse": False,
                    **desc,
                },
            )
        else:
            self.hostile("unrecognised frame", data)

    def _settle(self, entry: Pending, inc: Incoming) -> None:
        """End ``entry``'s call with ``inc``: its result, or the exception it makes."""
        ctx = self.ctx
        try:
            result = ctx.adapter.finish(entry.meta, inc, self.ws_key)
        except Exception as exc:
            self._failed(entry, inc, exc)
            return
        fut = entry.future
        if not fut.done():
            fut.set_result(result)
        if "response" in ctx.events.listened:
            ctx.emit("response", self._reply_event(inc))

    def _failed(self, entry: Pending, inc: Incoming, exc: Exception) -> None:
        """The reply refuses the call (``ExchangeError``) or does not fit its result type."""
        ctx = self.ctx
        fut = entry.future
        if isinstance(exc, ExchangeError):
            if not fut.done():
                fut.set_exception(exc)
            if "exception" in ctx.events.listened:
                ctx.emit("exception", self._reply_event(inc))
            return
        # The reply did not fit the op's result type: the exchange answered, so the
        # caller gets an error that carries the raw reply.
        err = ExchangeError(
            "decode",
            f"reply could not be decoded: {exc}",
            ctx.adapter.describe(inc),
            op=entry.meta.op,
        )
        if not fut.done():
            fut.set_exception(err)

    def _reply_event(self, inc: Incoming) -> dict[str, Any]:
        return {
            **self.ctx.adapter.describe(inc),
            "wsKey": self.ws_key,
            "account": self.ctx.account_index,
            "isWSAPIResponse": True,
        }

    def _unmatched(self, inc: Incoming, rid: str) -> None:
        late = self.correlator.pop_late(rid)
        ctx = self.ctx
        desc = ctx.adapter.describe(inc)
        if late is not None:
            _log.info(
                "late reply to %s (id %s) on %s, after its caller stopped waiting: %s",
                late.meta.op,
                rid,
                self.ws_key,
                desc,
            )
            ctx.emit(
                "late_response",
                {
                    "wsKey": self.ws_key,
                    "account": ctx.account_index,
                    "isWSAPIResponse": True,
                    "response": desc,
                    "request": late.meta.describe(rid),
                },
            )
        else:
            self.hostile(f"reply to unknown request id {rid!r}", desc)

    def hostile(self, what: str, data: Any) -> None:
        # Nobody's call carries this: it is worth a warning.
        _log.warning("%s on %s", what, self.ws_key)
        preview = data[:200] if isinstance(data, (str, bytes)) else data
        self.ctx.emit(
            "exception",
            {
                "wsKey": self.ws_key,
                "account": self.ctx.account_index,
                "error": what,
                "frame": preview,
            },
        )

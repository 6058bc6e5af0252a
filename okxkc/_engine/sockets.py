"""Socket lifecycle: open a websocket, know whether it still takes frames, cut it,
close it. Nothing here reads frames or logs in.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Coroutine
from typing import Any

import aiohttp
import attrs

from ..errors import AuthenticationError
from .context import ConnectionContext

__all__ = ["Socket", "TransientError", "abort", "close_socket", "open_websocket", "writable"]

_log = logging.getLogger("okxkc.connection")


class TransientError(Exception):
    """The socket could not be opened or logged in this time: try again later."""


@attrs.define(slots=True, eq=False)
class Socket:
    """One websocket of a connection and what runs on it."""

    ws: aiohttp.ClientWebSocketResponse[Any]
    #: Which socket of the connection this is (requests remember where they went).
    gen: int
    #: Set by :func:`abort` and :func:`close_socket`: no frame may be written any more.
    closing: bool = False
    #: ``loop.time()`` of the last inbound frame (the heartbeat watches it).
    last_rx: float = 0.0
    ping_interval: float = 15.0
    pong_timeout: float = 5.0
    reader: asyncio.Task[None] | None = None
    heartbeat: asyncio.Task[None] | None = None


async def open_websocket(
    ctx: ConnectionContext, ws_key: str
) -> aiohttp.ClientWebSocketResponse[Any]:
    """Open the websocket for ``ws_key`` (not logged in yet).

    HTTP 401/403 on the upgrade is a login refusal (:class:`AuthenticationError`);
    anything else that fails is a :class:`TransientError`.
    """
    adapter = ctx.adapter
    url = adapter.ws_url(ws_key, ctx.account)
    try:
        return await ctx.open_socket(url)
    except aiohttp.WSServerHandshakeError as exc:
        if exc.status in (401, 403):
            raise AuthenticationError(
                f"the server refused the connection (HTTP {exc.status})", ws_key=ws_key
            ) from None
        raise TransientError(f"handshake failed: HTTP {exc.status}") from None
    except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
        # Only the exception's type and OS error: some aiohttp errors quote the full
        # URL, whose query carries signatures (KuCoin).
        errno = getattr(exc, "errno", None) or getattr(
            getattr(exc, "os_error", None), "errno", None
        )
        detail = type(exc).__name__ + (f" (errno {errno})" if errno else "")
        raise TransientError(f"cannot connect to {adapter.public_url(ws_key)}: {detail}") from None


def writable(sock: Socket) -> bool:
    """False once the socket is closed or being cut: a frame sent now would never leave.

    aiohttp has no public "is the transport closing" query (``ws.closed`` turns
    True only once the reader has processed the close), so okxkc tracks the cuts
    it makes itself (:attr:`Socket.closing`). A socket the *server* closed in the
    instant before a write is caught by the write itself (aiohttp raises
    ``ClientConnectionResetError``), and that call ends as "connection lost,
    outcome unknown": never re-sent.
    """
    return not sock.closing and not sock.ws.closed


def abort(sock: Socket, spawn: Callable[[Coroutine[Any, Any, None]], None]) -> None:
    """Cut the socket now (no close handshake): its reader sees the end at once.

    Through public API only: the OS socket behind the websocket
    (``get_extra_info("socket")``) is shut down in both directions, on a duplicate
    of its file descriptor (uvloop's transport sockets refuse ``shutdown()``
    themselves). A transport that exposes no socket falls back to a close
    handshake with code 1006, bounded by the socket's close timeout, run by
    ``spawn``.
    """
    sock.closing = True
    raw = sock.ws.get_extra_info("socket")
    fd = -1 if raw is None else raw.fileno()
    if fd >= 0:
        try:
            with socket.socket(fileno=os.dup(fd)) as dup:
                dup.shutdown(socket.SHUT_RDWR)
            return
        except OSError:  # already shut down or not connected: the reader ends anyway
            return
    _log.debug("no OS socket to shut down: closing the websocket instead")
    spawn(close_socket(sock, 1006))


async def close_socket(sock: Socket, code: int) -> None:
    """A close handshake (bounded by the socket's ``ws_close`` timeout); never raises."""
    sock.closing = True
    try:
        await sock.ws.close(code=code)
    except Exception:
        pass

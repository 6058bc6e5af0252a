"""The login handshake on a freshly opened socket, driven by the adapter one frame
at a time, and the heartbeat settings it ends with.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from ..errors import AuthenticationError
from .context import ConnectionContext
from .sockets import Socket, TransientError

__all__ = ["login"]

_TEXT = aiohttp.WSMsgType.TEXT
_BINARY = aiohttp.WSMsgType.BINARY


async def login(
    ctx: ConnectionContext, ws_key: str, ws: aiohttp.ClientWebSocketResponse[Any], gen: int
) -> Socket:
    """Log in on ``ws`` within ``connect_timeout``; the socket, ready for requests.

    Closes ``ws`` and raises :class:`AuthenticationError` if the exchange refused the
    login for good (the adapter tells which codes are permanent), and
    :class:`TransientError` if it refused it for now (busy, rate limited), the socket
    closed, or no answer came in time: the connection tries again with backoff.
    """
    adapter = ctx.adapter
    timeout = ctx.options.connect_timeout
    sock = Socket(ws, gen)
    try:
        state, step = adapter.auth_begin(ws_key, ctx.account, ctx.next_id())
        async with _timeout(timeout):
            while True:
                for frame in step.send:
                    await ws.send_str(frame)
                if step.error is not None:
                    if adapter.login_error_is_transient(step.error.code):
                        raise TransientError(f"login refused for now: {step.error}")
                    raise step.error
                if step.done:
                    break
                msg = await ws.receive()
                if msg.type is _TEXT or msg.type is _BINARY:
                    step = adapter.auth_feed(state, msg.data.decode("utf-8", "replace"))
                else:
                    raise TransientError(
                        f"socket closed during login ({msg.type.name}, {ws.close_code})"
                    )
        ping_interval = ctx.options.ping_interval
        pong_timeout = ctx.options.pong_timeout
        sock.ping_interval = ping_interval or step.ping_interval or adapter.default_ping_interval
        sock.pong_timeout = pong_timeout or step.pong_timeout or 5.0
    except AuthenticationError as exc:
        exc.ws_key = exc.ws_key or ws_key
        await ws.close()
        raise
    except asyncio.TimeoutError:
        await ws.close()
        raise TransientError(f"no login answer within {timeout}s") from None
    except BaseException:
        await ws.close()
        raise
    return sock


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

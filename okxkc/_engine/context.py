"""What one connection needs from its client, and nothing more.

A :class:`Connection` gets a :class:`ConnectionContext` instead of a pointer back
to the client core: the adapter, the options, its account, the id source, a
socket opener, the event functions and the before-connect hook. It never sees
the other connections, the HTTP session or the client core itself.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

import aiohttp
import attrs
import msgspec

from .events import EventEmitter
from .protocol import Adapter

__all__ = ["ConnectionContext", "EngineOptions", "OpenSocket", "RequestMeta"]

#: Opens a websocket to a URL (the client's session, TLS settings and timeouts).
OpenSocket = Callable[[str], Awaitable["aiohttp.ClientWebSocketResponse[Any]"]]


class EngineOptions(Protocol):
    """The options the engine reads (a config object of either exchange)."""

    request_timeout: float
    connect_timeout: float
    reconnect_timeout: float
    reconnect_max: float
    ping_interval: float | None
    pong_timeout: float | None
    pacing: bool
    ca_file: str | None
    ssl_context: ssl.SSLContext | None


class RequestMeta(msgspec.Struct, eq=False):
    """What travels with one request: the op, its prepared args and how to read the reply."""

    op: str
    ws_key: str
    args: Any
    extras: Any
    #: Adapter-defined: how to decode the reply.
    result: Any
    #: Seconds from the call to its reply.
    timeout: float

    def describe(self, request_id: str) -> dict[str, Any]:
        return {"id": request_id, "op": self.op, "wsKey": self.ws_key, "args": self.args}


@attrs.define(frozen=True, slots=True, kw_only=True)
class ConnectionContext:
    """The narrow view of its client that one connection works with."""

    loop: asyncio.AbstractEventLoop
    adapter: Adapter
    options: EngineOptions
    account: Any
    account_index: int
    #: Process-unique request ids.
    next_id: Callable[[], str]
    open_socket: OpenSocket
    emit: Callable[[str, Mapping[str, Any]], None]
    #: The client's events: ``"x" in events.listened`` tells whether anyone listens to
    #: an event (saves building payloads nobody reads).
    events: EventEmitter
    #: Awaited before every connect attempt (e.g. server-time sync).
    before_connect: Callable[[], Awaitable[None]]
    #: A request ended with ``ConnectionLostError`` or ``RequestTimeoutError``: what the
    #: call ends with instead (settled by lookup), or the error raised again.
    lost: Callable[[int, RequestMeta, Exception], Awaitable[Any]]

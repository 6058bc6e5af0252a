"""okxkc: OKX and KuCoin WebSocket trading APIs as plain method calls.

    from okxkc.okx import WebsocketAPIClient          # blocking
    from okxkc.okx import AsyncWebsocketAPIClient     # awaitable, same names
    from okxkc.kucoin import WebsocketAPIClient, AsyncWebsocketAPIClient

The exchange clients are also here with a prefix (``okxkc.OkxWebsocketAPIClient``),
and the account types (``okxkc.KucoinAccount``), imported on first use so
``import okxkc`` stays cheap.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from ._version import __version__
from .errors import (
    AuthenticationError,
    ClientClosedError,
    ConnectionLostError,
    EngineThreadError,
    ExchangeError,
    NotExecutedError,
    OkxkcError,
    PartialFailureError,
    RateLimitError,
    RequestTimeoutError,
    ValidationError,
)

if TYPE_CHECKING:  # what the lazy names below are, for type checkers
    from .config import KucoinAccount, OkxAccount
    from .kucoin import AsyncWebsocketAPIClient as AsyncKucoinWebsocketAPIClient
    from .kucoin import WebsocketAPIClient as KucoinWebsocketAPIClient
    from .okx import AsyncWebsocketAPIClient as AsyncOkxWebsocketAPIClient
    from .okx import WebsocketAPIClient as OkxWebsocketAPIClient

__all__ = [
    "AsyncKucoinWebsocketAPIClient",
    "AsyncOkxWebsocketAPIClient",
    "AuthenticationError",
    "ClientClosedError",
    "ConnectionLostError",
    "EngineThreadError",
    "ExchangeError",
    "KucoinAccount",
    "KucoinWebsocketAPIClient",
    "NotExecutedError",
    "OkxAccount",
    "OkxWebsocketAPIClient",
    "OkxkcError",
    "PartialFailureError",
    "RateLimitError",
    "RequestTimeoutError",
    "ValidationError",
    "__version__",
    "run",
]

T = TypeVar("T")

_LAZY = {
    "OkxWebsocketAPIClient": ("okxkc.okx", "WebsocketAPIClient"),
    "AsyncOkxWebsocketAPIClient": ("okxkc.okx", "AsyncWebsocketAPIClient"),
    "KucoinWebsocketAPIClient": ("okxkc.kucoin", "WebsocketAPIClient"),
    "AsyncKucoinWebsocketAPIClient": ("okxkc.kucoin", "AsyncWebsocketAPIClient"),
    "OkxAccount": ("okxkc.config", "OkxAccount"),
    "KucoinAccount": ("okxkc.config", "KucoinAccount"),
}


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run an asyncio app's main coroutine on okxkc's engine loop (engine-loop mode).

    Blocks the calling thread until ``main`` returns and gives back its result. Awaits
    of ``AsyncWebsocketAPIClient`` methods inside it need no thread hop, the fastest
    way to trade from Python. The trade-off: the app now shares the loop with the
    sockets, so it must never block it (no ``time.sleep``, no blocking I/O, no long
    CPU work); and blocking ``WebsocketAPIClient`` calls cannot be made there.

    Like ``asyncio.run``, when ``main`` ends the tasks it started and left running
    are cancelled and awaited, and the async generators it started are closed.
    """
    import inspect

    from ._engine.app import run_app
    from ._engine.loop import engine

    if not inspect.iscoroutine(main):
        raise TypeError(f"okxkc.run() needs a coroutine, got {type(main).__name__}")
    try:
        result: T = engine.run_sync(run_app(main), "okxkc.run")
        return result
    finally:
        if inspect.getcoroutinestate(main) == inspect.CORO_CREATED:
            main.close()  # never started (e.g. called on the engine thread)


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'okxkc' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(target[0]), target[1])
    globals()[name] = value
    return value

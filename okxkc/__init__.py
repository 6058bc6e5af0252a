"""okxkc: OKX and KuCoin WebSocket trading APIs as plain method calls.

    from okxkc.okx import WebsocketAPIClient          # blocking
    from okxkc.okx import AsyncWebsocketAPIClient     # awaitable, same names
    from okxkc.kucoin import WebsocketAPIClient, AsyncWebsocketAPIClient

The exchange clients are also here with a prefix (``okxkc.OkxWebsocketAPIClient``),
imported on first use so ``import okxkc`` stays cheap.
"""

from __future__ import annotations

from typing import Any

from ._version import __version__
from .errors import (
    AuthenticationError,
    ClientClosedError,
    ConnectionLostError,
    EngineThreadError,
    ExchangeError,
    OkxkcError,
    PartialFailureError,
    RateLimitError,
    RequestTimeoutError,
    ValidationError,
)

__all__ = [
    "AsyncKucoinWebsocketAPIClient",
    "AsyncOkxWebsocketAPIClient",
    "AuthenticationError",
    "ClientClosedError",
    "ConnectionLostError",
    "EngineThreadError",
    "ExchangeError",
    "KucoinWebsocketAPIClient",
    "OkxWebsocketAPIClient",
    "OkxkcError",
    "PartialFailureError",
    "RateLimitError",
    "RequestTimeoutError",
    "ValidationError",
    "__version__",
]

_LAZY = {
    "OkxWebsocketAPIClient": ("okxkc.okx", "WebsocketAPIClient"),
    "AsyncOkxWebsocketAPIClient": ("okxkc.okx", "AsyncWebsocketAPIClient"),
    "KucoinWebsocketAPIClient": ("okxkc.kucoin", "WebsocketAPIClient"),
    "AsyncKucoinWebsocketAPIClient": ("okxkc.kucoin", "AsyncWebsocketAPIClient"),
}


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'okxkc' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(target[0]), target[1])
    globals()[name] = value
    return value

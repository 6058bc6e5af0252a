"""KuCoin WebSocket trading API: ``WebsocketAPIClient`` (blocking) and ``AsyncWebsocketAPIClient``."""

from ..config import KucoinAccount
from .client import AsyncWebsocketAPIClient, WebsocketAPIClient
from .models import (
    FuturesBatchCancelItem,
    FuturesBatchOrderItem,
    FuturesCancelAck,
    FuturesOrderAck,
    KucoinResponse,
    MarginOrderAck,
    RateLimit,
    SpotCancelAck,
    SpotModifyAck,
    SpotOrderAck,
    SyncCancelAck,
    SyncOrderAck,
)

__all__ = [
    "AsyncWebsocketAPIClient",
    "FuturesBatchCancelItem",
    "FuturesBatchOrderItem",
    "FuturesCancelAck",
    "FuturesOrderAck",
    "KucoinAccount",
    "KucoinResponse",
    "MarginOrderAck",
    "RateLimit",
    "SpotCancelAck",
    "SpotModifyAck",
    "SpotOrderAck",
    "SyncCancelAck",
    "SyncOrderAck",
    "WebsocketAPIClient",
]

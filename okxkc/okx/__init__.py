"""OKX WebSocket trading API: ``WebsocketAPIClient`` (blocking) and ``AsyncWebsocketAPIClient``."""

from ..config import OkxAccount
from .client import AsyncWebsocketAPIClient, WebsocketAPIClient
from .models import (
    AmendAck,
    CancelAck,
    MassCancelAck,
    OkxResponse,
    OrderAck,
    SpreadAmendAck,
    SpreadCancelAck,
    SpreadOrderAck,
)

__all__ = [
    "AmendAck",
    "AsyncWebsocketAPIClient",
    "CancelAck",
    "MassCancelAck",
    "OkxAccount",
    "OkxResponse",
    "OrderAck",
    "SpreadAmendAck",
    "SpreadCancelAck",
    "SpreadOrderAck",
    "WebsocketAPIClient",
]

"""The heartbeat of one socket: ping on a period, cut the socket when nothing at all
arrives within the pong timeout after a ping.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from .protocol import Adapter
from .sockets import Socket

__all__ = ["heartbeat"]

_log = logging.getLogger("okxkc.connection")


async def heartbeat(
    sock: Socket,
    adapter: Adapter,
    next_id: Callable[[], str],
    cut: Callable[[Socket], None],
    ws_key: str,
) -> None:
    """Runs until the socket ends (its reader cancels it) or goes silent (``cut``)."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(sock.ping_interval)
        sent_at = loop.time()
        try:
            await sock.ws.send_str(adapter.ping_frame(next_id()))
        except Exception:
            return  # the reader sees the close
        await asyncio.sleep(sock.pong_timeout)
        if sock.last_rx < sent_at:
            _log.info("no pong within %.1fs on %s: reconnecting", sock.pong_timeout, ws_key)
            cut(sock)
            return

"""Server-time sync for login timestamps that never holds up connecting.

Before each connect the exchange's clock is fetched (bounded); when that fails the
login goes ahead with the last known offset (or the local clock, the first time)
and a WARNING, and the sync is tried again at a later connect.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

__all__ = ["TimeSync"]

_log = logging.getLogger("okxkc.connection")


class TimeSync:
    """The before-connect step behind ``time_sync=True``."""

    #: Longest a connect waits for the server time (seconds).
    TIMEOUT = 2.0
    #: After a failure, connects skip the sync for this long (seconds).
    RETRY_AFTER = 30.0

    def __init__(
        self,
        fetch_server_ms: Callable[[], Awaitable[int]],
        set_offset_ms: Callable[[int], None],
        exchange: str,
        timeout: float = TIMEOUT,
    ) -> None:
        self._fetch = fetch_server_ms
        self._set_offset = set_offset_ms
        self._exchange = exchange
        self._timeout = timeout
        self._retry_at = 0.0
        #: The offset in use (server minus local clock, ms), ``None`` before any sync.
        self.offset_ms: int | None = None

    async def __call__(self) -> None:
        now = time.monotonic()
        if now < self._retry_at:
            return
        try:
            server_ms = await asyncio.wait_for(self._fetch(), self._timeout)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._retry_at = now + self.RETRY_AFTER
            using = (
                f"the last known offset ({self.offset_ms:+d} ms)"
                if self.offset_ms is not None
                else "the local clock"
            )
            reason = "no answer" if isinstance(exc, asyncio.TimeoutError) else str(exc)
            _log.warning(
                "%s server time unavailable (%s): logging in with %s; trying again in %.0f s",
                self._exchange,
                reason,
                using,
                self.RETRY_AFTER,
            )
            return
        self.offset_ms = server_ms - int(time.time() * 1000)
        self._set_offset(self.offset_ms)

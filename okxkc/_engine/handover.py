"""Service-upgrade handover, make before break: on a notice, open and log in a new
socket, route new calls to it, and let the old one drain its in-flight replies.

The old socket is closed only after its last pending call has ended (reply,
deadline, cancel) *and* a further grace of :data:`DRAIN_GRACE` seconds, so a
reply to a call that timed out just before still arrives and comes out as
``late_response``. The server closes it at the end of its own notice period in
any case.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, Protocol

from .correlator import Correlator
from .sockets import Socket, close_socket

__all__ = ["DRAIN_GRACE", "Handover"]

_log = logging.getLogger("okxkc.connection")

#: Seconds an old socket stays open after its last pending call ended.
DRAIN_GRACE = 2.0


class HandoverOwner(Protocol):
    """What the handover needs from its connection."""

    @property
    def closed(self) -> bool: ...

    @property
    def current(self) -> Socket | None: ...

    async def open_socket(self) -> Socket:
        """Open and log in a new socket (not installed yet)."""

    def replace(self, old: Socket, new: Socket) -> None:
        """Make ``new`` the current socket; ``old``'s end must not trigger a reconnect."""

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run a background step that the connection's close() cancels and awaits."""


class Handover:
    """The handover state of one connection: whether one runs, which sockets drain."""

    def __init__(self, owner: HandoverOwner, correlator: Correlator, ws_key: str) -> None:
        self._owner = owner
        self._correlator = correlator
        self._ws_key = ws_key
        #: Old sockets still open for their in-flight replies.
        self.draining: set[Socket] = set()
        self.running = False

    def on_notice(self, sock: Socket) -> None:
        owner = self._owner
        if sock is owner.current and not self.running and not owner.closed:
            self.running = True
            owner.spawn(self._upgrade(sock))

    def ended(self, sock: Socket) -> None:
        """``sock`` closed (by either side)."""
        self.draining.discard(sock)

    async def _upgrade(self, old: Socket) -> None:
        owner = self._owner
        try:
            new = await owner.open_socket()
        except Exception as exc:
            _log.info("could not open a new %s socket after a notice: %r", self._ws_key, exc)
            self.running = False
            return
        if owner.closed or old is not owner.current:
            self.running = False
            await close_socket(new, 1000)
            return
        self.draining.add(old)
        owner.replace(old, new)
        self.running = False
        # Break only after every request written to the old socket has ended (reply,
        # deadline or cancel), and a grace after that for late replies.
        self._correlator.when_idle(old.gen, lambda: owner.spawn(self._retire(old)))

    async def _retire(self, sock: Socket) -> None:
        await asyncio.sleep(DRAIN_GRACE)
        if not self._owner.closed and not sock.ws.closed:
            _log.debug("drained the old %s socket: closing it", self._ws_key)
            await close_socket(sock, 1000)

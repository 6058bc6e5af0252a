"""The contract between the exchange-agnostic engine and an exchange adapter.

An adapter is pure protocol: it builds URLs and frames, drives the login
handshake one frame at a time, classifies inbound frames and turns a reply into
a result or an exception. It never does I/O; the engine does all of that.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, Protocol

import msgspec

from ..errors import AuthenticationError

__all__ = ["Adapter", "AuthStep", "Incoming", "Kind"]


class Kind:
    """What an inbound frame is."""

    RESPONSE = 1  # a reply to a request: ``request_id`` is set
    PONG = 2  # heartbeat answer
    NOTICE = 3  # the server will close this socket soon (service upgrade): reconnect first
    ERROR = 4  # a connection-level error frame without a request id
    OTHER = 5  # anything else that parsed


class Incoming(msgspec.Struct, eq=False):
    """One classified inbound frame."""

    kind: int
    envelope: Any = None
    request_id: str | None = None
    #: For a connection-level ERROR that names the op it refuses (no id to match):
    #: every pending call of that op on the socket ends with it.
    op: str | None = None
    #: The frame itself, when the adapter may need to read it again (cold paths).
    frame: Any = None


class AuthStep(msgspec.Struct, eq=False):
    """The adapter's answer during the login handshake."""

    #: Frames to send now.
    send: Sequence[str] = ()
    #: Logged in: the socket is ready for requests.
    done: bool = False
    #: The exchange refused the login.
    error: AuthenticationError | None = None
    #: Heartbeat settings the server announced (seconds), if any.
    ping_interval: float | None = None
    pong_timeout: float | None = None


class Adapter(Protocol):
    """What the engine needs from an exchange."""

    exchange: str
    #: Seconds between heartbeats when neither the user nor the server sets one.
    default_ping_interval: float

    def ws_url(self, ws_key: str, account: Any) -> str:
        """The URL to open for ``ws_key`` (signed afresh for every connect when needed)."""

    def public_url(self, ws_key: str) -> str:
        """The same URL with nothing secret in it, for logs and events."""

    def auth_begin(self, ws_key: str, account: Any, request_id: str) -> tuple[Any, AuthStep]:
        """Start the login handshake on a fresh socket: (state, frames to send)."""

    def auth_feed(self, state: Any, frame: str) -> AuthStep:
        """Feed one inbound text frame received during the handshake."""

    def login_error_is_transient(self, code: str | None) -> bool:
        """Whether a login refused with ``code`` may succeed if simply tried again later
        (exchange busy, rate limited, timed out); otherwise it is permanent (key,
        signature, passphrase, environment, IP) and ends the connection's tries."""

    def pacing_costs(self, op: str, args: Any) -> Sequence[tuple[Hashable, int, int, float]]:
        """What sending ``op`` with ``args`` uses of the exchange's published rate
        limits, per account: ``(limit key, units, limit, window seconds)`` each."""

    def ping_frame(self, request_id: str) -> str:
        """The heartbeat frame to send."""

    def encode(self, request_id: str, op: str, args: Any, extras: Any) -> bytes:
        """The request frame."""

    def classify(self, frame: str | bytes) -> Any:
        """Decode and classify one inbound frame (raises ``ValueError`` on garbage).

        An :class:`Incoming`, or (the common case) a reply to an op of the table
        decoded in one pass: any other object, whose non-empty ``id`` names the
        request it answers; the engine hands it to :meth:`finish_reply`.
        """

    def finish(self, meta: Any, incoming: Incoming, ws_key: str) -> Any:
        """Turn a reply into the call's result, or raise an ``ExchangeError``."""

    def finish_reply(self, meta: Any, reply: Any, ws_key: str) -> Any:
        """The call's result from a one-pass reply of :meth:`classify` that is a success
        of the call's own op; ``None`` for anything else, which the engine then hands
        to :meth:`finish` as ``Incoming(Kind.RESPONSE, reply, reply.id, None, frame)``."""

    def describe(self, incoming: Incoming) -> dict[str, Any]:
        """The frame as a plain dict, for events and logs."""

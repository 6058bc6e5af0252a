"""The exceptions okxkc raises: one tree, each type saying what it means for the order.

``OkxkcError``
  ``ValidationError``      bad input, caught before anything was sent: the order does not exist.
  ``AuthenticationError``  the exchange refused the login: nothing was sent.
  ``ExchangeError``        the exchange answered and refused the request (``code``, ``msg``).
    ``PartialFailureError``  a batch where some items were accepted and some refused.
    ``RateLimitError``       refused for going over a rate limit.
  ``ConnectionLostError``  the socket dropped with the request in flight: outcome unknown.
  ``RequestTimeoutError``  no reply within the deadline: outcome unknown if it was sent.
  ``ClientClosedError``    the client was closed.
  ``EngineThreadError``    a blocking call was made on okxkc's own loop thread.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "AuthenticationError",
    "ClientClosedError",
    "ConnectionLostError",
    "EngineThreadError",
    "ExchangeError",
    "OkxkcError",
    "PartialFailureError",
    "RateLimitError",
    "RequestTimeoutError",
    "ValidationError",
]


class OkxkcError(Exception):
    """Base class of every error okxkc raises on purpose."""


class ValidationError(OkxkcError, ValueError):
    """An argument is missing or malformed; nothing was sent.

    ``field`` names the offending argument (``"orders[3].clOrdId"`` inside a batch).
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.reason = message
        super().__init__(f"{field}: {message}")


class AuthenticationError(OkxkcError):
    """The exchange refused the credentials (or the session challenge).

    Terminal for the connection: every waiting and later call on it fails with this
    error, without a reconnect storm, until ``connect_ws_api()`` is called again.
    """

    def __init__(self, message: str, *, code: str | None = None, ws_key: str | None = None) -> None:
        self.code = code
        self.ws_key = ws_key
        text = f"[{code}] {message}" if code else message
        super().__init__(f"{text} (ws_key={ws_key})" if ws_key else text)


class ExchangeError(OkxkcError):
    """The exchange answered the request with an error code.

    ``code`` and ``msg`` are the exchange's (for a single-order op, the item's
    ``sCode``/``sMsg``); ``response`` is the whole decoded reply as a dict.
    """

    def __init__(
        self,
        code: str,
        msg: str,
        response: Mapping[str, Any] | None = None,
        *,
        op: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.code = code
        self.msg = msg
        self.response: Mapping[str, Any] = response or {}
        #: Every item of a batch reply (typed results), in request order.
        self.items: list[Any] = []
        self.op = op
        self.request_id = request_id
        where = f" on {op}" if op else ""
        super().__init__(f"[{code}] {msg or 'error'}{where}")


class PartialFailureError(ExchangeError):
    """A batch request in which some items were refused.

    ``items`` holds every item of the reply in request order (accepted and refused);
    ``failed`` and ``succeeded`` split them.
    """

    def __init__(
        self,
        code: str,
        msg: str,
        response: Mapping[str, Any] | None,
        items: Sequence[Any],
        failed: Sequence[Any],
        *,
        op: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(code, msg, response, op=op, request_id=request_id)
        self.items = list(items)
        self.failed = list(failed)
        failed_ids = {id(x) for x in self.failed}
        self.succeeded = [x for x in self.items if id(x) not in failed_ids]
        self.args = (
            f"[{code}] {len(self.failed)} of {len(self.items)} items refused"
            + (f" on {op}" if op else "")
            + (f": {msg}" if msg else ""),
        )


class RateLimitError(ExchangeError):
    """Refused for exceeding a rate limit.

    ``reset_ms`` is the time until the limit resets when the exchange says so
    (KuCoin), else ``None``; ``remaining`` and ``limit`` likewise.
    """

    def __init__(
        self,
        code: str,
        msg: str,
        response: Mapping[str, Any] | None = None,
        *,
        op: str | None = None,
        request_id: str | None = None,
        reset_ms: int | None = None,
        remaining: int | None = None,
        limit: int | None = None,
    ) -> None:
        self.reset_ms = reset_ms
        self.remaining = remaining
        self.limit = limit
        super().__init__(code, msg, response, op=op, request_id=request_id)


class ConnectionLostError(OkxkcError):
    """The socket dropped while the request was in flight.

    The outcome is unknown: the exchange may or may not have processed it.
    Reconcile by clOrdId (OKX) or clientOid (KuCoin); okxkc never re-sends.
    """

    def __init__(self, message: str, *, ws_key: str | None = None, op: str | None = None) -> None:
        self.ws_key = ws_key
        self.op = op
        super().__init__(message)


class RequestTimeoutError(OkxkcError, TimeoutError):
    """No reply arrived within the request's deadline.

    ``sent`` tells whether the request reached the socket: if ``False`` the order
    certainly does not exist; if ``True`` the outcome is unknown (reconcile by
    clOrdId / clientOid, or use ``exp_time`` / ``allowMaxTimeWindow`` so a late
    request is refused by the exchange).
    """

    def __init__(
        self, message: str, *, sent: bool, ws_key: str | None = None, op: str | None = None
    ) -> None:
        self.sent = sent
        self.ws_key = ws_key
        self.op = op
        super().__init__(message)


class ClientClosedError(OkxkcError):
    """The client was closed; requests in flight at that moment have an unknown outcome."""


class EngineThreadError(OkxkcError, RuntimeError):
    """A blocking call was made on okxkc's own engine thread, where it would deadlock.

    Use the ``AsyncWebsocketAPIClient`` and ``await`` the same method instead.
    """

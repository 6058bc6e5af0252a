"""The exceptions okxkc raises: one tree, each type saying what it means for the order.

``OkxkcError``
  ``ValidationError``      bad input, caught before anything was sent: the order does not exist.
  ``AuthenticationError``  the exchange refused the login: nothing was sent.
  ``ExchangeError``        the exchange answered and refused the request (``code``, ``msg``).
    ``PartialFailureError``  a batch where some items were accepted and some refused.
    ``RateLimitError``       refused for going over a rate limit.
  ``ConnectionLostError``  the socket dropped with the request in flight, and no lookup
                           could tell what happened (``lookup``): outcome unknown.
  ``RequestTimeoutError``  no reply within the deadline: not sent (``sent=False``), or sent
                           and no lookup could tell what happened: outcome unknown.
  ``NotExecutedError``     sent, reply lost, and a lookup proved it did not take effect:
                           safe to retry (the same client order id is allowed).
  ``ClientClosedError``    the client was closed.
  ``EngineThreadError``    a blocking call was made on okxkc's own loop thread.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

__all__ = [
    "AuthenticationError",
    "ClientClosedError",
    "ConnectionLostError",
    "EngineThreadError",
    "ExchangeError",
    "ItemLookup",
    "Lookup",
    "NotExecutedError",
    "OkxkcError",
    "PartialFailureError",
    "RateLimitError",
    "RequestTimeoutError",
    "SentRequest",
    "ValidationError",
]


@attrs.frozen
class SentRequest:
    """The request an error is about: ``op``, the request ``id`` on the socket (``None``
    if it never got one), ``args`` as sent, and the ``ws_key`` it went on."""

    op: str
    id: str | None
    args: Any
    ws_key: str

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "id": self.id, "args": self.args, "wsKey": self.ws_key}


@attrs.frozen
class ItemLookup:
    """What the lookup found for one order of the request (item ``index``).

    ``verdict``: ``"executed"`` (it took effect; ``result`` is the item a reply would
    have carried), ``"not_executed"`` (provably not) or ``"unknown"``. ``key`` names
    the order as looked up (``{"clOrdId": ...}``); ``state`` is what the exchange
    said (``"live"``, ``"canceled"``, ``"absent"``, ``"lookup failed"`` ...);
    ``detail`` explains the verdict.
    """

    index: int
    key: Mapping[str, str]
    verdict: str
    state: str
    detail: str = ""
    result: Any = None


@attrs.frozen
class Lookup:
    """How okxkc tried to settle a lost reply over the exchange's REST API.

    ``verdict``: ``"executed"``, ``"not_executed"`` or ``"unknown"`` for the request
    as a whole; ``items`` per order; ``lookups`` how many REST lookups were made;
    ``elapsed`` seconds from the loss to the verdict; ``server_time_ms`` the exchange's
    clock at the last check (``None`` if never read).
    """

    verdict: str
    items: tuple[ItemLookup, ...]
    lookups: int
    elapsed: float
    server_time_ms: int | None = None

    def summary(self) -> str:
        parts = [f"item {i.index} {i.verdict} ({i.state}: {i.detail})" for i in self.items]
        return "; ".join(parts) or "nothing to look up"


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
    (KuCoin), else ``None``; ``remaining`` and ``limit`` likewise. ``sent`` is
    ``False`` when okxkc's own pacing refused the call before sending it.
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
        sent: bool = True,
    ) -> None:
        self.sent = sent
        self.reset_ms = reset_ms
        self.remaining = remaining
        self.limit = limit
        super().__init__(code, msg, response, op=op, request_id=request_id)


class _Lost(OkxkcError):
    """A sent request whose reply never came; ``request`` and ``lookup`` say more."""

    #: The request (op, id, args); set for every call of the client's methods.
    request: SentRequest | None = None
    #: What the REST lookup found (``None``: no lookup was made).
    lookup: Lookup | None = None

    def __str__(self) -> str:
        text = super().__str__()
        if self.lookup is not None:
            text += f" [lookup after {self.lookup.elapsed:.2f}s: {self.lookup.summary()}]"
        return text


class ConnectionLostError(_Lost):
    """The socket dropped while the request was in flight.

    With ``resolve_unknown`` on (the default) okxkc has already looked the order up
    over REST and could not tell whether it took effect: ``lookup`` says what it
    found. Reconcile by clOrdId (OKX) or clientOid (KuCoin); okxkc never re-sends.
    """

    def __init__(
        self,
        message: str,
        *,
        ws_key: str | None = None,
        op: str | None = None,
        request: SentRequest | None = None,
    ) -> None:
        self.ws_key = ws_key
        self.op = op
        self.request = request
        super().__init__(message)


class RequestTimeoutError(_Lost, TimeoutError):
    """No reply arrived within the request's deadline.

    ``sent`` tells whether the request reached the socket: if ``False`` the order
    certainly does not exist; if ``True`` okxkc looked it up (``resolve_unknown``) and
    could not tell what happened: ``lookup`` says what it found.
    """

    def __init__(
        self,
        message: str,
        *,
        sent: bool,
        ws_key: str | None = None,
        op: str | None = None,
        request: SentRequest | None = None,
    ) -> None:
        self.sent = sent
        self.ws_key = ws_key
        self.op = op
        self.request = request
        super().__init__(message)


class NotExecutedError(_Lost):
    """The request was sent and its reply lost, and a REST lookup proved it did not
    take effect: safe to retry, with the same client order id.

    Proof means: a place or amend whose expiry (``expTime`` / ``allowMaxTimeWindow``)
    passed by the exchange's clock before the lookup that found no order / no change,
    or a cancel whose order was still live after the settle time, or an order in a
    final state the request can no longer change. In a batch, ``lookup.items`` tells
    which items did take effect (their ``result``) and which did not.
    """

    sent = True

    def __init__(
        self,
        message: str,
        *,
        request: SentRequest,
        lookup: Lookup,
        ws_key: str | None = None,
        op: str | None = None,
    ) -> None:
        self.ws_key = ws_key
        self.op = op
        self.request = request
        self.lookup = lookup
        super().__init__(message)

    def __str__(self) -> str:
        return Exception.__str__(self)  # the message already says what the lookup proved


class ClientClosedError(OkxkcError):
    """The client was closed; requests in flight at that moment have an unknown outcome."""


class EngineThreadError(OkxkcError, RuntimeError):
    """A blocking call was made on okxkc's own engine thread, where it would deadlock.

    Use the ``AsyncWebsocketAPIClient`` and ``await`` the same method instead.
    """

"""Settling a lost reply: when a place / amend / cancel ends "outcome unknown" (socket
lost, or no reply by the deadline after sending), look each affected order up over the
exchange's signed REST API and end the call with a definite answer.

Exchange-agnostic: what to look up, how to sign it and what a reply means come from
the exchange's pure lookup rules (``okxkc/okx/lookup.py``, ``okxkc/kucoin/lookup.py``).
This module owns the timing rules that turn "not found" into proof:

- a place or amend is *not executed* only once its expiry (``expTime`` /
  ``allowMaxTimeWindow``) has passed by the exchange's clock (read from the exchange
  just before the lookup) and the lookup still shows no order / no change: until
  then a request may sit in the exchange's queue after the socket died;
- a cancel (no expiry on the wire) is *not executed* only if the order is still
  live ``settle`` seconds after the reply was lost;
- an order in a state the request can no longer change (a cancel of a filled
  order) is *not executed* at once;
- everything else stays unknown, and the call ends with its original error and
  ``.lookup``; the whole call, lookup included, ends by its timeout plus ``grace``.

Nothing is ever re-sent on the socket: the lookups are read-only GETs.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import attrs
import msgspec

from ..errors import (
    ConnectionLostError,
    ItemLookup,
    Lookup,
    NotExecutedError,
    OkxkcError,
    RequestTimeoutError,
    SentRequest,
)

__all__ = [
    "AMEND",
    "CANCEL",
    "DONE",
    "FOLLOW",
    "NEVER",
    "NOT_YET",
    "PLACE",
    "UNKNOWN",
    "Finding",
    "OutcomeRules",
    "Quick",
    "Resolver",
    "Sending",
    "Target",
    "new_client_id",
]

# What a request does to an order.
PLACE = "place"
AMEND = "amend"
CANCEL = "cancel"

# What a lookup says about one order, in the light of the request (``OutcomeRules.effect``).
DONE = "done"  # the request took effect
NOT_YET = "not_yet"  # it has not, but still could (timing rules decide)
NEVER = "never"  # it has not and no longer can (e.g. cancel of a filled order)
UNKNOWN = "unknown"  # the lookup cannot tell
FOLLOW = "follow"  # look again under the key the rules put in the target

# First pause between lookup rounds; it doubles up to the cap.
_FIRST_STEP = 0.1
_MAX_STEP = 1.0
# After the exchange's clock has been read as past an expiry, wait this much more
# before the next read when it was not (the local estimate was early).
_CLOCK_MARGIN = 0.005


def _client_id_source() -> Callable[[], str]:
    # 12 characters of random prefix + a decimal counter: at most 32 letters and digits
    # (OKX's clOrdId rule, within KuCoin's 40), unique across processes and restarts.
    prefix = "ok" + secrets.token_hex(5)
    count = itertools.count(1).__next__
    return lambda: prefix + str(count())


#: A fresh client order id for an order the user gave none. Rebound in a forked child,
#: so call it through the module (``outcome.new_client_id()``), never a copy of it.
new_client_id = _client_id_source()


def _fresh_in_child() -> None:
    global new_client_id
    new_client_id = _client_id_source()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_fresh_in_child)


class Sending(msgspec.Struct, eq=False):
    """What the resolver must know about one call's request, filled as it goes out.

    Travels as the request's ``extras``: the adapter's ``encode`` records the request
    id and (for a relative ``exp_ms``) the absolute expiry it put on the wire. A
    msgspec Struct: one is built per call, in the caller's thread.
    """

    started: float  # time.monotonic() when the call began
    exp_ms: int | None = None  # expiry relative to sending (the user's exp_time)
    #: The call's deadline on the local wall clock (ms) when the default expiry
    #: applies. The exchange's clock offset is added only at sending, after time sync
    #: has measured it.
    deadline_ms: int | None = None
    expires_ms: int | None = None  # absolute expiry on the exchange's clock (ms), as sent
    request_id: str | None = None

    def expiry(self, clock: Any) -> int | None:
        """The absolute expiry to send on ``clock`` (the exchange's: ``now_ms()`` and
        ``offset_ms``); records it."""
        if self.exp_ms is not None:
            self.expires_ms = clock.now_ms() + self.exp_ms
        elif self.deadline_ms is not None:
            self.expires_ms = self.deadline_ms + clock.offset_ms
        return self.expires_ms


@attrs.frozen
class Quick:
    """What ``OutcomeRules.prepare`` does to a single-item call of one op, so that the
    facade can do it inline for a call that passed its generated check (the common
    case) and gives none of the ``guards`` fields."""

    #: The client-id field filled with ``new_client_id()`` when the call gives none.
    id_field: str | None
    #: Whether the call's deadline goes on the wire as its expiry (``deadline_ms``).
    expiring: bool
    #: Fields whose presence takes the call through ``prepare`` itself.
    guards: tuple[str, ...] = ()


@attrs.define(slots=True)
class Target:
    """One order to look up for a request (item ``index`` of its args)."""

    index: int
    action: str  # PLACE | AMEND | CANCEL
    key: dict[str, str]  # what names the order (and where it lives), e.g. instId + clOrdId
    item: Any  # the request item
    expires_ms: int | None = None  # the request's expiry (place / amend), exchange clock


@attrs.frozen
class Finding:
    """What one REST lookup returned: ``state`` ``found`` (with ``order``), ``absent``
    or ``failed`` (``terminal``: retrying cannot help, e.g. refused credentials)."""

    state: str
    order: Mapping[str, Any] | None = None
    detail: str = ""
    terminal: bool = False


class OutcomeRules(Protocol):
    """An exchange's pure lookup code (no I/O)."""

    def prepare(self, op: str, meta: Any, resolve: bool) -> Sending:
        """Before sending (caller's thread): fill client ids and, when ``resolve``, the
        default expiry; return the record that travels as the request's extras."""
        ...

    def quick(self, op: str, resolve: bool) -> Quick | None:
        """What ``prepare`` does to a single-item call of ``op``; ``None`` when a call of
        it must always go through ``prepare``."""
        ...

    def resolvable(self, op: str) -> bool: ...

    def targets(self, op: str, args: Any, sending: Sending) -> list[Target]: ...

    def lookup_request(self, target: Target, account: Any) -> tuple[str, dict[str, str]]:
        """URL and signed headers of the GET that finds ``target``'s order."""
        ...

    def time_url(self) -> str: ...

    def read_time(self, body: Any) -> int | None: ...

    def read(self, target: Target, body: Any) -> Finding: ...

    def effect(self, target: Target, finding: Finding) -> tuple[str, str]:
        """(DONE | NOT_YET | NEVER | UNKNOWN | FOLLOW, what the order's state was)."""
        ...

    def item_result(self, op: str, target: Target, finding: Finding) -> Any: ...

    def response(self, op: str, request_id: str | None, ws_key: str, items: list[Any]) -> Any: ...

    def now_ms(self) -> int: ...


class _Core(Protocol):
    accounts: list[Any]

    async def get_json(self, url: str, headers: Mapping[str, str] | None = None) -> Any: ...

    def emit(self, event: str, payload: Mapping[str, Any]) -> None: ...


class Resolver:
    """Runs one client's requests and settles those whose reply was lost."""

    def __init__(
        self, core: _Core, rules: OutcomeRules, *, enabled: bool, settle: float, grace: float
    ) -> None:
        self.core = core
        self.rules = rules
        self.enabled = enabled
        self.settle = settle
        self.grace = grace

    async def settle_lost(self, idx: int, meta: Any, exc: Exception) -> Any:
        """A request of account ``idx`` ended with ``exc`` (``ConnectionLostError`` or
        ``RequestTimeoutError``): the call's definite answer, found by lookup, or ``exc``
        raised again (with ``.request``, and ``.lookup`` when one ran).

        The engine's ``ClientCore.on_lost``: the connection awaits it in place of the
        error, so a call costs no coroutine layer of its own for this.
        """
        sending = meta.extras
        if type(sending) is not Sending:
            raise exc  # not a call of the generated methods (a raw request)
        assert isinstance(exc, (ConnectionLostError, RequestTimeoutError))
        exc.request = SentRequest(meta.op, sending.request_id, meta.args, meta.ws_key)
        if (
            not self.enabled
            or (isinstance(exc, RequestTimeoutError) and not exc.sent)
            or not self.rules.resolvable(meta.op)
        ):
            raise exc
        targets = self.rules.targets(meta.op, meta.args, sending)
        if not targets:
            raise exc
        return await self._settle(idx, meta, sending, targets, exc)

    # -- the lookup loop -------------------------------------------------------------
    async def _settle(
        self,
        idx: int,
        meta: Any,
        sending: Sending,
        targets: Sequence[Target],
        exc: ConnectionLostError | RequestTimeoutError,
    ) -> Any:
        rules = self.rules
        lost_at = time.monotonic()
        end = max(sending.started + meta.timeout, lost_at) + self.grace
        settle_at = lost_at + self.settle
        account = self.core.accounts[idx]
        verdicts: dict[int, ItemLookup] = {}
        last: dict[int, tuple[str, str]] = {}
        pending = list(targets)
        lookups = 0
        server_ms: int | None = None
        step = _FIRST_STEP
        while pending:
            # The proof that an expiry passed must come from the exchange's clock, read
            # before the lookup that then finds nothing.
            clock_ms: int | None = None
            if any(t.expires_ms is not None and rules.now_ms() >= t.expires_ms for t in pending):
                clock_ms = await self._server_time(end)
                if clock_ms is not None:
                    server_ms = clock_ms
            settled = time.monotonic() >= settle_at
            findings = await asyncio.gather(*(self._look(t, account, end) for t in pending))
            lookups += len(pending)
            still: list[Target] = []
            for t, f in zip(pending, findings, strict=True):
                verdict = self._judge(meta.op, t, f, clock_ms, settled, last)
                if verdict is None:
                    still.append(t)
                else:
                    verdicts[t.index] = verdict
            pending = still
            if not pending:
                break
            now = time.monotonic()
            # A place / amend without an expiry can never be proven not executed: stop
            # looking once the settle time has passed.
            hopeless = [
                t
                for t in pending
                if t.action != CANCEL and t.expires_ms is None and now >= settle_at
            ]
            for t in hopeless:
                state, detail = last.get(t.index, ("not looked up", ""))
                verdicts[t.index] = self._item(
                    t, "unknown", state, detail or "no expiry bounds a not-found"
                )
            pending = [t for t in pending if t not in hopeless]
            if not pending or now >= end:
                break
            wake = now + step
            step = min(step * 2, _MAX_STEP)
            for t in pending:
                if t.expires_ms is not None:
                    # Until the expiry by the exchange's clock when it was just read (our
                    # estimate was early), else by our estimate of that clock.
                    ref = clock_ms if clock_ms is not None else rules.now_ms()
                    ahead = (t.expires_ms - ref) / 1000
                    if ahead >= 0:
                        wake = min(wake, now + ahead + _CLOCK_MARGIN)
                elif settle_at > now:
                    wake = min(wake, settle_at)
            await asyncio.sleep(max(0.0, min(wake, end) - now))
        for t in pending:
            state, detail = last.get(t.index, ("not looked up", ""))
            verdicts[t.index] = self._item(
                t, "unknown", state, detail or "out of time before anything could be proven"
            )
        items = tuple(verdicts[t.index] for t in targets)
        if all(i.verdict == "executed" for i in items):
            overall = "executed"
        elif any(i.verdict == "unknown" for i in items):
            overall = "unknown"
        else:
            overall = "not_executed"
        report = Lookup(overall, items, lookups, time.monotonic() - lost_at, server_ms)
        request = exc.request
        assert request is not None
        self.core.emit(
            "resolved",
            {
                "wsKey": meta.ws_key,
                "account": idx,
                "request": request.to_dict(),
                "outcome": overall,
                "resolvedBy": "lookup",
                "lookups": lookups,
                "elapsed": round(report.elapsed, 6),
                "items": [
                    {"index": i.index, "key": dict(i.key), "verdict": i.verdict, "state": i.state}
                    for i in items
                ],
                "error": type(exc).__name__,
            },
        )
        if overall == "executed":
            return rules.response(
                meta.op, sending.request_id, meta.ws_key, [i.result for i in items]
            )
        if overall == "not_executed":
            failed = [i for i in items if i.verdict == "not_executed"]
            if len(items) == 1:
                text = f"{meta.op} did not take effect: {failed[0].detail}"
            else:
                text = (
                    f"{len(failed)} of {len(items)} items of {meta.op} did not take effect "
                    f"(items {', '.join(str(i.index) for i in failed)}; the others did, "
                    "see .lookup.items)"
                )
            raise NotExecutedError(
                f"{text}. The reply was lost ({type(exc).__name__}); safe to retry, with the "
                "same client order id",
                request=request,
                lookup=report,
                ws_key=meta.ws_key,
                op=meta.op,
            ) from exc
        exc.lookup = report
        raise exc

    def _judge(
        self,
        op: str,
        t: Target,
        f: Finding,
        clock_ms: int | None,
        settled: bool,
        last: dict[int, tuple[str, str]],
    ) -> ItemLookup | None:
        """The verdict on one order after one lookup, or ``None``: look again."""
        if f.state == "failed":
            last[t.index] = ("lookup failed", f.detail)
            if f.terminal:
                return self._item(t, "unknown", "lookup failed", f.detail)
            return None
        effect, state = self.rules.effect(t, f)
        if effect == DONE:
            return self._item(
                t, "executed", state, "found by lookup", self.rules.item_result(op, t, f)
            )
        if effect == NEVER:
            return self._item(t, "not_executed", state, f"the order is {state}: it cannot apply")
        if effect == NOT_YET:
            if t.action == CANCEL:
                if settled:
                    return self._item(
                        t,
                        "not_executed",
                        state,
                        f"the order was still {state} {self.settle:g}s after the reply was lost",
                    )
                last[t.index] = (state, "still live within the settle time")
                return None
            if t.expires_ms is not None and clock_ms is not None and clock_ms >= t.expires_ms:
                what = "no such order" if state == "absent" else f"the order unchanged ({state})"
                return self._item(
                    t,
                    "not_executed",
                    state,
                    f"{what} after its expiry {t.expires_ms} passed by the exchange's clock "
                    f"({clock_ms})",
                )
            last[t.index] = (state, "not found before its expiry passed")
            return None
        if effect == FOLLOW:
            last[t.index] = (state, "looking it up under its client id")
            return None
        last[t.index] = (state, f.detail or "the lookup cannot tell")
        return None

    @staticmethod
    def _item(t: Target, verdict: str, state: str, detail: str, result: Any = None) -> ItemLookup:
        return ItemLookup(t.index, dict(t.key), verdict, state, detail, result)

    async def _get(self, url: str, headers: dict[str, str] | None, end: float) -> Any:
        left = end - time.monotonic()
        if left <= 0:
            raise asyncio.TimeoutError
        return await asyncio.wait_for(self.core.get_json(url, headers), left)

    async def _look(self, t: Target, account: Any, end: float) -> Finding:
        url, headers = self.rules.lookup_request(t, account)
        try:
            body = await self._get(url, headers, end)
        except asyncio.TimeoutError:
            return Finding("failed", detail="no REST reply before the call's time ran out")
        except OkxkcError as e:
            return Finding("failed", detail=f"REST unreachable: {e}")
        return self.rules.read(t, body)

    async def _server_time(self, end: float) -> int | None:
        try:
            return self.rules.read_time(await self._get(self.rules.time_url(), None, end))
        except (asyncio.TimeoutError, OkxkcError):
            return None

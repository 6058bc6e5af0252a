"""What the generated facades inherit: argument handling and the hand-off to the engine.

The sync facade blocks on the engine coroutine; the async facade awaits it from
the caller's loop (or directly in engine-loop mode). Validation runs in the
caller's thread, before anything reaches the engine. The public lifecycle methods
(``send_ws_api_request``, ``connect_ws_api``, ``close``, the context managers) are
generated from one template by ``tools/generate.py``; what they share lives here.
"""

from __future__ import annotations

import difflib
import logging
import os
from asyncio import get_running_loop
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from time import monotonic
from time import time as wall_time
from typing import Any, TypeVar

import attrs

from ._engine import loop as _loop_module
from ._engine import outcome as _outcomes
from ._engine.connection import Connection
from ._engine.core import ClientCore, RequestMeta
from ._engine.events import EventEmitter
from ._engine.loop import current_pid, engine
from ._engine.outcome import Resolver, Sending
from ._engine.protocol import Adapter
from ._ops import Operation, check_extra_names, validate_batch, validate_item
from .config import CommonOptions, check_exp_time
from .errors import ClientClosedError, ValidationError

__all__ = ["AsyncFacade", "FacadeBase", "SyncFacade", "run_sync"]

T = TypeVar("T")

#: What a generated blocking single-item method hands its engine coroutine to:
#: ``run_sync(self._one(op, params), method_name)``.
run_sync = engine.run_sync

# Bound of a call's ``timeout`` (seconds): finite, and far beyond anything useful, so
# a typo fails loudly instead of waiting for ages.
MAX_TIMEOUT = 86_400.0

#: The keyword arguments every generated method takes besides the exchange's fields.
CONTROL_KEYWORDS = ("account", "timeout", "exp_time", "extra_params")

_LIFECYCLE = (
    "open",
    "reconnect",
    "reconnected",
    "authenticated",
    "exception",
    "close",
    "notice",
    "late_response",
    "resolved",
)


def _show_number(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return "an integer of more than 64 bits"  # repr() of a huge int is slow or refused
    if isinstance(value, (int, float)):
        return repr(value)
    return type(value).__name__


def _attach_logging(emitter: EventEmitter, logger: logging.Logger) -> None:
    def log(payload: dict[str, Any]) -> None:
        event = payload.get("event")
        if payload.get("isWSAPIResponse"):
            # A refusal or late reply the caller also receives (exception / event):
            # worth a line in a log file, not a warning on stderr.
            level = logging.INFO
        elif event in ("reconnect", "exception", "late_response", "notice"):
            level = logging.WARNING
        else:
            level = logging.INFO
        fields = " ".join(f"{k}={v}" for k, v in payload.items() if k not in ("event", "exchange"))
        logger.log(level, "%s %s %s", payload.get("exchange"), event, fields)

    for name in _LIFECYCLE:
        emitter.on(name, log)


def _unknown_field_hint(op: Operation, params: Any, exc: ValidationError) -> ValidationError:
    """``exc`` with "did you mean ...?" when it is about a field name the caller made up.

    Runs only on the error path: the validator names the unknown key in ``.field``
    (``sidee``, or ``orders[2].sidee`` in a batch).
    """
    name = exc.field.rpartition(".")[2] if op.batch else exc.field
    if name in op.fields or "did you mean" in exc.reason:
        return exc
    given: Any = params
    if op.batch:
        items = params if isinstance(params, (list, tuple)) else ()
        given = next((it for it in items if isinstance(it, Mapping) and name in it), None)
    if not isinstance(given, Mapping) or name not in given:
        return exc
    if name in CONTROL_KEYWORDS:
        return ValidationError(name, f"{op.method} does not take {name}")
    known = list(op.fields)
    if not op.batch:
        known += [k for k in CONTROL_KEYWORDS if k != "exp_time" or op.exp_time]
    lower = {k.lower(): k for k in known}
    match = lower.get(name.lower()) or next(iter(difflib.get_close_matches(name, known, 1)), None)
    if match is None:
        return exc
    hint = "" if op.batch else " (unlisted fields go in extra_params)"
    return ValidationError(exc.field, f"is not a field of {op.op}; did you mean {match}?{hint}")


@attrs.define(slots=True)
class _Fast:
    """What every single-item call of one op on one client shares on the fast path
    (:meth:`FacadeBase._one`): a call that passes the op's generated check is sent as
    it is, with the client id and expiry of ``OutcomeRules.prepare`` filled inline."""

    check: Callable[[Any], bool]
    op: str
    ws_key: str
    result: Any
    one: bool  # args is the item itself, not a list of it
    id_field: str | None  # filled with a fresh client id when the call gives none
    expiring: bool  # the call's deadline goes on the wire as its expiry
    guards: frozenset[str] | None  # any of these given: the general path
    need: str | None  # not given: the general path (OKX instIdCode resolution)
    #: The connection a fast call hands its request to, once it exists (never when
    #: pacing: the pacer's wrapper then runs first).
    conn: Connection | None = None


def _never(params: Any) -> bool:
    return False


#: The plan of an op with no fast path: every call takes the general one.
_NO_FAST = _Fast(_never, "", "", None, False, None, False, None, None)


class FacadeBase:
    """State and helpers shared by the sync and async clients of one exchange."""

    _exchange = "exchange"
    _ws_keys: tuple[str, ...] = ()
    #: Settles lost replies by REST lookup (set by the exchange's client base).
    _outcome: Resolver | None = None

    def __init__(self, config: CommonOptions, adapter: Adapter, accounts: Sequence[Any]) -> None:
        if not accounts:
            raise ValidationError(
                "accounts", "at least one account (API key, secret, passphrase) is required"
            )
        self._config = config
        self._adapter = adapter
        self._emitter = EventEmitter(self._exchange)
        self._logger = config.logger or logging.getLogger("okxkc")
        if config.attach_event_listeners:
            _attach_logging(self._emitter, self._logger)
        self._core = ClientCore(adapter, accounts, config, self._emitter)
        self._api_keys = [a.api_key for a in accounts]
        # The process that owns this client's sockets (see _check_process).
        self._pid = os.getpid()
        self._plans: dict[str, tuple[str, Any, bool, Any]] = {}
        self._fast: dict[str, _Fast] = {}

    # -- public helpers ----------------------------------------------------------------
    def get_ws_client(self) -> EventEmitter:
        """The event emitter: ``client.get_ws_client().on("reconnected", callback)``."""
        return self._emitter

    @property
    def config(self) -> CommonOptions:
        return self._config

    def pending_requests(self) -> int:
        """How many requests are waiting for a reply right now."""
        return self._core.pending_count()

    def __repr__(self) -> str:
        keys = ", ".join(k[:6] + "…" if len(k) > 6 else k for k in self._api_keys)
        return f"<okxkc.{self._exchange}.{type(self).__name__} accounts=[{keys}]>"

    # -- argument handling -------------------------------------------------------------
    def _check_process(self) -> None:
        # After fork() the child shares the parent's sockets: a request written there
        # would interleave with the parent's frames and its reply could be read by
        # either process. The child must make its own client.
        if current_pid() != self._pid:
            raise ClientClosedError(
                "this client was created in the parent process before fork(); "
                "create a new client in the child"
            )

    def _account_index(self, account: int | str | None) -> int:
        if account is None:
            return 0
        if isinstance(account, bool) or not isinstance(account, (int, str)):
            raise ValidationError("account", "must be an account index or an API key")
        if isinstance(account, int):
            if 0 <= account < len(self._api_keys):
                return account
            raise ValidationError(
                "account",
                f"index {_show_number(account)} out of range (have {len(self._api_keys)})",
            )
        try:
            return self._api_keys.index(account)
        except ValueError:
            raise ValidationError("account", "no configured account has that API key") from None

    def _timeout(self, timeout: float | None) -> float:
        if timeout is None:
            return self._config.request_timeout
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise ValidationError(
                "timeout", f"must be a positive number of seconds, got {type(timeout).__name__}"
            )
        # Chained comparison refuses NaN too; float() of a huge int would overflow.
        if not 0 < timeout <= MAX_TIMEOUT:
            raise ValidationError(
                "timeout",
                f"must be a positive number of seconds, at most {MAX_TIMEOUT:g}; "
                f"got {_show_number(timeout)}",
            )
        return float(timeout)

    def _ws_key_for(self, op: Operation) -> str:
        return op.ws_key

    def _extras(self, op: Operation, exp_time: int | None) -> Any:
        if exp_time is not None:
            raise ValidationError("exp_time", f"{op.op} does not take a request expiry")
        return None

    #: True when a single (not batch) call's ``args`` is its one item, not a list of it.
    _args_is_item = False

    def _result_spec(self, op: Operation) -> Any:
        raise NotImplementedError

    def _plan(self, op: Operation) -> tuple[str, Any, bool, Any]:
        """What every call of ``op`` on this client shares, worked out on its first call:
        the ws key, how to read the reply, whether ``args`` is the one item, and the
        extras of a call that gives no ``exp_time`` (from the client's options)."""
        plan = (
            self._ws_key_for(op),
            self._result_spec(op),
            self._args_is_item and not op.batch,
            self._extras(op, None) if op.exp_time else None,
        )
        self._plans[op.method] = plan
        return plan

    def _prepare(
        self,
        op: Operation,
        params: Any,
        extra: Mapping[str, Any] | None,
        account: int | str | None,
        timeout: float | None,
        exp_time: int | None,
    ) -> tuple[int, RequestMeta]:
        # The common case (no account, timeout, expiry or extras given) costs no calls
        # but the op's generated check.
        if self._pid != _loop_module._PID:
            self._check_process()
        idx = 0 if account is None else self._account_index(account)
        t = self._config.request_timeout if timeout is None else self._timeout(timeout)
        if exp_time is not None:
            check_exp_time(exp_time)
        try:
            if op.batch:
                items = validate_batch(op, params)
            elif extra is None and op.fast_check is not None and op.fast_check(params):
                # The generated check passed: this call's own ``**params`` dict is sent
                # as it is, with no copy (see tools/checkgen.py).
                items = [params]
            else:
                if extra is not None:
                    check_extra_names(extra)
                items = [validate_item(op, params, "", extra)]
        except ValidationError as exc:
            raise _unknown_field_hint(op, params, exc) from None
        ws_key, result, one, extras = self._plans.get(op.method) or self._plan(op)
        if exp_time is not None:
            extras = self._extras(op, exp_time)
        return idx, RequestMeta(op.op, ws_key, items[0] if one else items, extras, result, t)

    def _fast_need(self, op: Operation) -> str | None:
        """A field a fast call of ``op`` must give (else the general path handles it)."""
        return None

    def _fast_plan(self, op: Operation) -> _Fast:
        """``op``'s fast path on this client, worked out on its first call."""
        plan = _NO_FAST
        resolver = self._outcome
        if resolver is not None and op.fast_check is not None and not op.batch:
            ws_key, result, one, extras = self._plans.get(op.method) or self._plan(op)
            quick = resolver.rules.quick(op.op, resolver.enabled)
            if quick is not None and extras is None:
                plan = _Fast(
                    op.fast_check,
                    op.op,
                    ws_key,
                    result,
                    one,
                    quick.id_field,
                    quick.expiring,
                    frozenset(quick.guards) or None,
                    self._fast_need(op),
                )
        self._fast[op.method] = plan
        return plan

    def _fast_missing(
        self, params: Any
    ) -> Callable[[RequestMeta], Coroutine[Any, Any, Any]] | None:
        """A fast call lacks its plan's ``need`` field: fill it in ``params`` and return
        what runs the request (given its meta), or ``None`` for the general path."""
        return None

    def _one(self, op: Operation, params: Any) -> Coroutine[Any, Any, Any]:
        """The engine coroutine of a generated single-item call (fields and options in
        ``params``).

        The fast path, every call's usual one: the generated check passes (so the call
        gave no option either), and the call's own dict is sent as it is, with what
        ``OutcomeRules.prepare`` would add (a client id, the expiry) filled here, with
        no further calls. Anything else takes the general path (same result).
        """
        plan = self._fast.get(op.method) or self._fast_plan(op)
        guards = plan.guards
        if (
            not plan.check(params)
            or self._pid != _loop_module._PID
            or (guards is not None and not guards.isdisjoint(params))
        ):
            return self._general(op, params)
        need = plan.need
        run = None
        if need is not None and need not in params:
            run = self._fast_missing(params)
            if run is None:
                return self._general(op, params)
        field = plan.id_field
        if field is not None and not params.get(field):
            params[field] = _outcomes.new_client_id()
        timeout = self._config.request_timeout
        started = monotonic()
        if plan.expiring:
            sending = Sending(started, None, int((wall_time() + timeout) * 1000))
        else:
            sending = Sending(started)
        meta = RequestMeta(
            plan.op, plan.ws_key, params if plan.one else [params], sending, plan.result, timeout
        )
        if run is not None:
            return run(meta)
        # The connection's own request coroutine when it exists (one coroutine layer per
        # call); the deadline counts from the call's start.
        conn = plan.conn
        if conn is None:
            core = self._core
            if core.pacers is not None:
                return core.request(0, meta)
            conn = plan.conn = core.connections.get((0, plan.ws_key))
            if conn is None:
                return core.request(0, meta)  # the first call opens it
        return conn.request(meta, started + timeout)

    def _general(self, op: Operation, params: Any) -> Coroutine[Any, Any, Any]:
        """The general path of a single-item call: every option, the full checks."""
        idx, meta = self._prepare_one(op, params)
        return self._send(idx, meta, op)

    def _prepare_one(self, op: Operation, params: Any) -> tuple[int, RequestMeta]:
        """A single-item call, whose ``**params`` holds its fields and any call options.

        The generated check fails for any name that is not a field of ``op``, so when it
        passes the call gave no option either: the call's own dict is sent as it is
        (no copy, no option handling). Otherwise the options are taken out and the
        general path runs.
        """
        if self._pid != _loop_module._PID:
            self._check_process()
        check = op.fast_check
        if check is not None and check(params):
            ws_key, result, one, extras = self._plans.get(op.method) or self._plan(op)
            return 0, RequestMeta(
                op.op,
                ws_key,
                params if one else [params],
                extras,
                result,
                self._config.request_timeout,
            )
        pop = params.pop
        exp_time = pop("exp_time", None) if op.exp_time else None
        return self._prepare(
            op,
            params,
            pop("extra_params", None),
            pop("account", None),
            pop("timeout", None),
            exp_time,
        )

    def _prepare_raw(
        self,
        ws_key: str,
        op: str,
        params: Any,
        account: int | str | None,
        timeout: float | None,
        extras: Any,
    ) -> tuple[int, RequestMeta]:
        self._check_process()
        if not isinstance(op, str) or not op:
            raise ValidationError("op", "must be a non-empty string")
        key = self._normalize_ws_key(ws_key)
        return self._account_index(account), RequestMeta(
            op, key, self._raw_args(params), extras, self._raw_result_spec(), self._timeout(timeout)
        )

    def _normalize_ws_key(self, ws_key: str) -> str:
        if ws_key in self._ws_keys:
            return ws_key
        raise ValidationError(
            "ws_key", f"must be one of {', '.join(self._ws_keys)}; got {ws_key!r}"
        )

    def _raw_args(self, params: Any) -> Any:
        return params

    def _raw_result_spec(self) -> Any:
        raise NotImplementedError

    def _pairs(
        self, ws_keys: Sequence[str] | None, account: int | str | None
    ) -> list[tuple[int, str]]:
        if isinstance(ws_keys, str):
            ws_keys = [ws_keys]
        keys = [self._normalize_ws_key(k) for k in ws_keys] if ws_keys else list(self._ws_keys)
        accounts = range(len(self._api_keys)) if account is None else [self._account_index(account)]
        return [(a, k) for a in accounts for k in keys]

    def _send(self, idx: int, meta: RequestMeta, op: Operation | None) -> Coroutine[Any, Any, Any]:
        """The coroutine that runs on the engine loop for one call."""
        outcome = self._outcome
        if outcome is None or op is None:
            return self._core.request(idx, meta)
        # Client ids and default expiry are filled here, in the caller's thread.
        outcome.rules.prepare(op.op, meta, outcome.enabled)
        return self._core.request(idx, meta)

    # -- what the generated lifecycle methods run ------------------------------------------
    def _raw_request(
        self,
        ws_key: str,
        op: str,
        params: Any,
        account: int | str | None,
        timeout: float | None,
        extras: Mapping[str, Any],
    ) -> Coroutine[Any, Any, Any]:
        """``send_ws_api_request``: the engine coroutine of one unvalidated request."""
        idx, meta = self._prepare_raw(ws_key, op, params, account, timeout, extras or None)
        return self._send(idx, meta, None)

    def _connecting(
        self, ws_keys: Sequence[str] | None, account: int | str | None, timeout: float | None
    ) -> Coroutine[Any, Any, None]:
        """``connect_ws_api``: open and authenticate the sockets (overridden to warm more)."""
        self._check_process()
        pairs = self._pairs(ws_keys, account)
        return self._warm_up(pairs, self._timeout(timeout))

    def _warm_up(self, pairs: list[tuple[int, str]], timeout: float) -> Coroutine[Any, Any, None]:
        """The engine coroutine of ``connect_ws_api`` for checked arguments."""
        return self._core.connect(pairs, timeout)

    def _closing(self, blocking: bool) -> Coroutine[Any, Any, None] | None:
        """``close``: the coroutine to run, or ``None`` when there is nothing to wait for."""
        if current_pid() != self._pid:
            return None  # a forked child: the sockets are the parent's to close
        if blocking and engine.in_engine_thread():
            # A blocking close from a callback on the engine loop cannot wait for itself.
            engine.loop.create_task(self._core.close())
            return None
        return self._core.close()


class SyncFacade(FacadeBase):
    """Blocking calls: usable from scripts, threads and Jupyter cells."""

    def _call(
        self,
        op: Operation,
        params: Any,
        extra: Mapping[str, Any] | None,
        account: int | str | None,
        timeout: float | None,
        exp_time: int | None = None,
    ) -> Any:
        idx, meta = self._prepare(op, params, extra, account, timeout, exp_time)
        return engine.run_sync(self._send(idx, meta, op), op.method)

    @staticmethod
    def _run(coro: Coroutine[Any, Any, T], what: str) -> T:
        return engine.run_sync(coro, what)


class AsyncFacade(FacadeBase):
    """Awaitable calls for asyncio apps; never block the caller's loop."""

    def _acall(
        self,
        op: Operation,
        params: Any,
        extra: Mapping[str, Any] | None,
        account: int | str | None,
        timeout: float | None,
        exp_time: int | None = None,
    ) -> Awaitable[Any]:
        """What a generated async method awaits: checked here, when the method runs.

        Engine-loop mode (okxkc.run): the caller is on the engine loop, where the
        request coroutine runs anyway, so that coroutine itself is returned, to be
        awaited with no hand-off and no coroutine layer in between. From any other
        loop, the hand-off to the engine loop.
        """
        idx, meta = self._prepare(op, params, extra, account, timeout, exp_time)
        if get_running_loop() is self._core.loop:
            return self._send(idx, meta, op)
        return engine.hop(self._send(idx, meta, op))

    def _acall_one(self, op: Operation, params: Any) -> Awaitable[Any]:
        """What a generated single-item method awaits (see :meth:`_acall`)."""
        coro = self._one(op, params)
        if get_running_loop() is self._core.loop:
            return coro
        return engine.hop(coro)

    @staticmethod
    async def _run(coro: Coroutine[Any, Any, T], what: str) -> T:
        return await engine.run_async(coro)

"""What the generated facades inherit: argument handling and the hand-off to the engine.

The sync facade blocks on ``run_coroutine_threadsafe``; the async facade awaits
the same coroutine through ``wrap_future`` (or directly in engine-loop mode).
Validation runs in the caller's thread, before anything reaches the engine.
"""

from __future__ import annotations

import logging
import os
from asyncio import get_running_loop
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any, TypeVar

from ._engine import loop as _loop_module
from ._engine.core import ClientCore, RequestMeta
from ._engine.events import EventEmitter
from ._engine.loop import current_pid, engine
from ._engine.outcome import Resolver
from ._engine.protocol import Adapter
from ._ops import Operation, check_extra_names, validate_batch, validate_item
from .config import CommonOptions
from .errors import ClientClosedError, ValidationError

__all__ = ["AsyncFacade", "FacadeBase", "SyncFacade"]

T = TypeVar("T")

# Bounds of a call's ``timeout`` (seconds) and ``exp_time`` (ms): finite, and far
# beyond anything useful, so a typo fails loudly instead of waiting for ages.
MAX_TIMEOUT = 86_400.0
MAX_EXP_TIME_MS = 86_400_000

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

    @staticmethod
    def _check_exp_time(exp_time: Any) -> None:
        if exp_time is None:
            return
        if (
            isinstance(exp_time, bool)
            or not isinstance(exp_time, int)
            or not 0 < exp_time <= MAX_EXP_TIME_MS
        ):
            raise ValidationError(
                "exp_time",
                f"must be a positive whole number of milliseconds, at most {MAX_EXP_TIME_MS}; "
                f"got {_show_number(exp_time)}",
            )

    def _ws_key_for(self, op: Operation) -> str:
        return op.ws_key

    def _extras(self, op: Operation, exp_time: int | None) -> Any:
        return None

    def _wrap_args(self, op: Operation, items: list[dict[str, Any]]) -> Any:
        """The ``args`` the exchange wants for these validated items."""
        return items

    def _result_spec(self, op: Operation) -> Any:
        raise NotImplementedError

    def _prepare(
        self,
        op: Operation,
        params: Any,
        extra: Mapping[str, Any] | None,
        account: int | str | None,
        timeout: float | None,
        exp_time: int | None,
    ) -> tuple[int, RequestMeta]:
        # The common case (no account, timeout, expiry or extras given) costs no calls.
        if self._pid != _loop_module._PID:
            self._check_process()
        idx = 0 if account is None else self._account_index(account)
        t = self._config.request_timeout if timeout is None else self._timeout(timeout)
        if exp_time is not None:
            self._check_exp_time(exp_time)
        if op.batch:
            items = validate_batch(op, params)
        else:
            if extra is not None:
                check_extra_names(extra)
            items = [validate_item(op, params, "", extra)]
        meta = RequestMeta(
            op.op,
            self._ws_key_for(op),
            self._wrap_args(op, items),
            self._extras(op, exp_time),
            self._result_spec(op),
            t,
        )
        return idx, meta

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
        keys = [self._normalize_ws_key(k) for k in ws_keys] if ws_keys else list(self._ws_keys)
        accounts = range(len(self._api_keys)) if account is None else [self._account_index(account)]
        return [(a, k) for a in accounts for k in keys]

    def _send(self, idx: int, meta: RequestMeta, op: Operation | None) -> Coroutine[Any, Any, Any]:
        """The coroutine that runs on the engine loop for one call."""
        outcome = self._outcome
        if outcome is None or op is None:
            return self._core.request(idx, meta)
        # Client ids and default expiry are filled here, in the caller's thread.
        return outcome.call(idx, meta, outcome.prepare(op.op, meta))


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

    def send_ws_api_request(
        self,
        ws_key: str,
        op: str,
        params: Any,
        *,
        account: int | str | None = None,
        timeout: float | None = None,
        **extras: Any,
    ) -> Any:
        """Send any op with raw params (no validation beyond the envelope); returns the reply."""
        idx, meta = self._prepare_raw(ws_key, op, params, account, timeout, extras or None)
        return engine.run_sync(self._send(idx, meta, None), "send_ws_api_request")

    def connect_ws_api(
        self,
        ws_keys: Sequence[str] | None = None,
        *,
        account: int | str | None = None,
        timeout: float | None = None,
    ) -> None:
        """Open and authenticate the sockets now, so the first order pays no connect time.

        Also clears a past login rejection and tries again.
        """
        self._check_process()
        pairs = self._pairs(ws_keys, account)
        engine.run_sync(self._core.connect(pairs, self._timeout(timeout)), "connect_ws_api")

    def close(self) -> None:
        """Close every socket; requests in flight fail with ``ClientClosedError``."""
        if current_pid() != self._pid:
            return  # a forked child: the sockets are the parent's to close
        if engine.in_engine_thread():
            engine.loop.create_task(self._core.close())
            return
        engine.run_sync(self._core.close(), "close")

    def __enter__(self: T) -> T:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncFacade(FacadeBase):
    """Awaitable calls for asyncio apps; never block the caller's loop."""

    async def _acall(
        self,
        op: Operation,
        params: Any,
        extra: Mapping[str, Any] | None,
        account: int | str | None,
        timeout: float | None,
        exp_time: int | None = None,
    ) -> Any:
        idx, meta = self._prepare(op, params, extra, account, timeout, exp_time)
        if get_running_loop() is self._core.loop:
            # Engine-loop mode (okxkc.run): the caller is on the engine loop, where the
            # request coroutine runs anyway, so it is awaited with no hand-off at all.
            return await self._send(idx, meta, op)
        return await engine.run_async(self._send(idx, meta, op))

    async def send_ws_api_request(
        self,
        ws_key: str,
        op: str,
        params: Any,
        *,
        account: int | str | None = None,
        timeout: float | None = None,
        **extras: Any,
    ) -> Any:
        """Send any op with raw params (no validation beyond the envelope); returns the reply."""
        idx, meta = self._prepare_raw(ws_key, op, params, account, timeout, extras or None)
        return await engine.run_async(self._send(idx, meta, None))

    async def connect_ws_api(
        self,
        ws_keys: Sequence[str] | None = None,
        *,
        account: int | str | None = None,
        timeout: float | None = None,
    ) -> None:
        """Open and authenticate the sockets now (also clears a past login rejection)."""
        self._check_process()
        pairs = self._pairs(ws_keys, account)
        await engine.run_async(self._core.connect(pairs, self._timeout(timeout)))

    async def close(self) -> None:
        """Close every socket; requests in flight fail with ``ClientClosedError``."""
        if current_pid() != self._pid:
            return  # a forked child: the sockets are the parent's to close
        await engine.run_async(self._core.close())

    async def __aenter__(self: T) -> T:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

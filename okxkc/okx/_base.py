"""OKX-specific parts the generated OKX facades inherit: options, routing (and the
Node SDK's ws keys, never across environments), request expiry, instIdCode
resolution and preloading, and server-time sync."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any

from .._engine.clock import TimeSync
from .._engine.core import RequestMeta
from .._engine.outcome import Resolver
from .._facade import FacadeBase
from .._ops import Operation, use_checks
from ..config import INST_TYPES, OkxConfig, build_config
from ..errors import ExchangeError, RequestTimeoutError, ValidationError
from ._checks import CHECKS
from .adapter import RAW_RESULT, OkxAdapter, ResultSpec, result_spec
from .instruments import InstrumentCodes
from .lookup import OkxLookups
from .operations import BUSINESS, OPERATIONS, PRIVATE

__all__ = ["OkxClientBase"]

_SPECS: dict[str, ResultSpec] = {
    op.method: result_spec(op.op, op.result, op.batch) for op in OPERATIONS
}
_BY_METHOD = {op.method: op for op in OPERATIONS}
use_checks(OPERATIONS, CHECKS)

# The Node SDK's ws keys: {prod|prodDemo|eeaLive|eeaDemo|usLive|usDemo}{Public|Private|Business}.
_NODE_ENV = {
    "prod": ("prod", False),
    "prodDemo": ("prod", True),
    "eeaLive": ("EEA", False),
    "eeaDemo": ("EEA", True),
    "usLive": ("US", False),
    "usDemo": ("US", True),
}
_NODE_KEY = re.compile(r"(prod|prodDemo|eeaLive|eeaDemo|usLive|usDemo)(Public|Private|Business)")


def _node_key(market: str, demo: bool, kind: str) -> str:
    env = next(k for k, v in _NODE_ENV.items() if v == (market, demo))
    return env + kind.capitalize()


def _env_name(market: str, demo: bool) -> str:
    return f"OKX {market} {'demo' if demo else 'live'}"


class OkxClientBase(FacadeBase):
    _exchange = "okx"
    _ws_keys = (PRIVATE, BUSINESS)

    def __init__(self, options: Mapping[str, Any] | None, kwargs: Mapping[str, Any]) -> None:
        config = build_config(OkxConfig, options, kwargs)
        adapter = OkxAdapter(config)
        super().__init__(config, adapter, config.accounts)
        self._okx = config
        self._okx_adapter = adapter
        self._codes = InstrumentCodes(adapter.rest_base, self._core.get_json, config.demo_trading)
        lookups = OkxLookups(adapter.rest_base, adapter.clock, config.demo_trading, self._inst_id)
        self._outcome = Resolver(
            self._core,
            lookups,
            enabled=config.resolve_unknown,
            settle=config.settle_time,
            grace=config.resolve_grace,
        )
        self._core.on_lost = self._outcome.settle_lost
        if config.time_sync:
            self._core.before_connect = TimeSync(
                self._server_ms, self._set_time_offset, self._exchange
            )

    # -- routing and envelopes ---------------------------------------------------------
    def _normalize_ws_key(self, ws_key: str) -> str:
        if ws_key in self._ws_keys:
            return ws_key
        m = _NODE_KEY.fullmatch(ws_key) if isinstance(ws_key, str) else None
        if m is None:
            raise ValidationError(
                "ws_key",
                f"must be 'private' or 'business' (or a Node key of this client's environment, "
                f"such as {_node_key(self._okx.market, self._okx.demo_trading, PRIVATE)!r}); "
                f"got {ws_key!r}",
            )
        env, kind = m.groups()
        market, demo = _NODE_ENV[env]
        # A ported script must never reach another environment than the client's:
        # a demo key on a live client would otherwise trade real money.
        if (market, demo) != (self._okx.market, self._okx.demo_trading):
            raise ValidationError(
                "ws_key",
                f"{ws_key!r} is a socket of {_env_name(market, demo)}, but this client trades on "
                f"{_env_name(self._okx.market, self._okx.demo_trading)}; nothing was sent "
                f"(set market= / demo_trading= to change the client's environment)",
            )
        if kind == "Public":
            raise ValidationError(
                "ws_key",
                f"{ws_key!r} is a market-data socket; trading ops go on private or business",
            )
        return kind.lower()

    def _result_spec(self, op: Operation) -> ResultSpec:
        return _SPECS[op.method]

    def _raw_result_spec(self) -> ResultSpec:
        return RAW_RESULT

    def _raw_args(self, params: Any) -> Any:
        if isinstance(params, Mapping):
            return [dict(params)]
        if isinstance(params, Sequence) and not isinstance(params, str):
            return [dict(p) for p in params]
        raise ValidationError("params", "must be a dict or a list of dicts")

    def _extras(self, op: Operation, exp_time: int | None) -> Any:
        if not op.exp_time:
            return super()._extras(op, exp_time)
        # Both the per-call value and the option were checked by config.check_exp_time.
        value = exp_time if exp_time is not None else self._okx.exp_time
        return None if value is None else {"exp_time": value}

    # -- instIdCode --------------------------------------------------------------------
    def _inst_id(self, code: int) -> str | None:
        return next((i for i, c in self._codes.codes.items() if c == code), None)

    def _fast_need(self, op: Operation) -> str | None:
        # A call by instId is sent by instIdCode (_send; _fast_missing on the fast path).
        return (
            "instIdCode"
            if op.needs_instrument_code and self._okx.resolve_instrument_codes
            else None
        )

    def _fast_missing(
        self, params: Any
    ) -> Callable[[RequestMeta], Coroutine[Any, Any, Any]] | None:
        # A fast call by instId whose instIdCode is known: sent by the code, watched for
        # 51001 like any resolved call. An unknown instrument takes the general path,
        # which fetches the list.
        inst = params.get("instId")
        code = self._codes.lookup(inst) if inst is not None else None
        if code is None:
            return None
        params["instIdCode"] = code
        del params["instId"]
        return self._watch_one

    def _watch_one(self, meta: RequestMeta) -> Coroutine[Any, Any, Any]:
        return self._watch_codes(0, meta)

    def _send(self, idx: int, meta: RequestMeta, op: Operation | None) -> Coroutine[Any, Any, Any]:
        if op is None:
            return self._core.request(idx, meta)
        outcome = self._outcome
        assert outcome is not None
        outcome.rules.prepare(op.op, meta, outcome.enabled)
        if op.needs_instrument_code and self._okx.resolve_instrument_codes:
            missing = resolved = False
            codes = self._codes
            for item in meta.args:
                if "instIdCode" not in item:
                    code = codes.lookup(item["instId"])
                    if code is None:
                        missing = True
                    else:
                        item["instIdCode"] = code
                        del item["instId"]
                        resolved = True
            if missing:
                return self._resolve_then_send(idx, meta, op.batch)
            if resolved:
                return self._watch_codes(idx, meta)
        return self._core.request(idx, meta)

    async def _resolve_then_send(self, idx: int, meta: RequestMeta, batch: bool) -> Any:
        # The lookup counts against the call's own deadline: what it uses is taken
        # off the time left for the request itself.
        loop = asyncio.get_running_loop()
        start = loop.time()

        async def resolve_all() -> None:
            for i, item in enumerate(meta.args):
                if "instIdCode" not in item:
                    field = f"orders[{i}].instId" if batch else "instId"
                    item["instIdCode"] = await self._codes.resolve(item.pop("instId"), field)

        try:
            await asyncio.wait_for(resolve_all(), meta.timeout)
        except asyncio.TimeoutError:
            raise RequestTimeoutError(
                f"{meta.op} was not sent: the instrument list did not arrive within {meta.timeout}s",
                sent=False,
                ws_key=meta.ws_key,
                op=meta.op,
            ) from None
        meta.timeout = max(0.001, meta.timeout - (loop.time() - start))
        return await self._watch_codes(idx, meta)

    async def _watch_codes(self, idx: int, meta: RequestMeta) -> Any:
        try:
            return await self._core.request(idx, meta)
        except ExchangeError as exc:
            # 51001: that instrument code is unknown to the exchange now; drop our
            # mapping so the next call refetches it. The request is not re-sent.
            # Only the items the exchange refused with 51001: a batch's other items
            # were accepted with their codes, which stay valid.
            refused = [
                item
                for i, item in enumerate(meta.args)
                if exc.code == "51001"
                or (i < len(exc.items) and getattr(exc.items[i], "sCode", "") == "51001")
            ]
            if refused:
                by_code = {c: i for i, c in self._codes.codes.items()}
                for item in refused:
                    inst = by_code.get(item.get("instIdCode", -1))
                    if inst is not None:
                        self._codes.forget(inst)
            raise

    # -- preloading ---------------------------------------------------------------------
    def _warm_up(self, pairs: list[tuple[int, str]], timeout: float) -> Coroutine[Any, Any, None]:
        types = [t for t in self._okx.preload_instruments if not self._codes.loaded(t)]
        if not types or not self._okx.resolve_instrument_codes:
            return super()._warm_up(pairs, timeout)
        return self._connect_and_preload(pairs, timeout, types)

    async def _connect_and_preload(
        self, pairs: list[tuple[int, str]], timeout: float, inst_types: Sequence[str]
    ) -> None:
        # Alongside the sockets, not after them: warming up costs the longer of the two.
        preload = asyncio.ensure_future(asyncio.wait_for(self._codes.load(inst_types), timeout))
        try:
            await self._core.connect(pairs, timeout)
        except BaseException:
            preload.cancel()
            await asyncio.gather(preload, return_exceptions=True)
            raise
        try:
            await preload
        except Exception as exc:
            # The sockets are ready; a call for these instruments fetches the list itself.
            self._logger.warning(
                "okx could not preload instrument codes for %s: %r", ", ".join(inst_types), exc
            )

    def _loading(
        self, inst_types: Sequence[str] | None, timeout: float | None
    ) -> Coroutine[Any, Any, None]:
        """``load_instruments``: fetch instrument codes now (the preload, on demand)."""
        self._check_process()
        if isinstance(inst_types, str):
            inst_types = [inst_types]
        types = list(self._okx.preload_instruments if inst_types is None else inst_types)
        for t in types:
            if t not in INST_TYPES:
                raise ValidationError(
                    "inst_types", f"must list instrument types of {INST_TYPES}; got {t!r}"
                )
        return self._load_within(types, self._timeout(timeout))

    async def _load_within(self, inst_types: Sequence[str], timeout: float) -> None:
        try:
            await asyncio.wait_for(self._codes.load(inst_types), timeout)
        except asyncio.TimeoutError:
            raise RequestTimeoutError(
                f"the instrument lists did not arrive within {timeout}s", sent=False
            ) from None

    # -- server time -------------------------------------------------------------------
    async def _server_ms(self) -> int:
        body = await self._core.get_json(f"{self._okx_adapter.rest_base}/api/v5/public/time", None)
        try:
            return int(body["data"][0]["ts"])
        except (KeyError, IndexError, TypeError, ValueError):
            raise ExchangeError("time", f"unexpected server time reply: {body!r}"[:200]) from None

    def _set_time_offset(self, offset_ms: int) -> None:
        self._okx_adapter.time_offset_ms = offset_ms


def operation(method: str) -> Operation:
    return _BY_METHOD[method]

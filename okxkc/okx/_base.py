"""OKX-specific parts the generated OKX facades inherit: options, routing,
request expiry, instIdCode resolution and server-time sync."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any

from .._engine.clock import TimeSync
from .._engine.core import RequestMeta
from .._facade import FacadeBase
from .._ops import Operation
from ..config import OkxAccount, OkxConfig, build_config
from ..errors import ExchangeError, RequestTimeoutError, ValidationError
from .adapter import RAW_RESULT, OkxAdapter, ResultSpec, result_spec
from .instruments import InstrumentCodes
from .operations import BUSINESS, OPERATIONS, PRIVATE

__all__ = ["OkxClientBase"]

_SPECS: dict[str, ResultSpec] = {
    op.method: result_spec(op.op, op.result, op.batch) for op in OPERATIONS
}
_BY_METHOD = {op.method: op for op in OPERATIONS}


class OkxClientBase(FacadeBase):
    _exchange = "okx"
    _ws_keys = (PRIVATE, BUSINESS)

    def __init__(
        self,
        options: Mapping[str, Any] | None = None,
        /,
        *,
        accounts: Sequence[Mapping[str, str] | OkxAccount] | None = None,
        market: str | None = None,
        demo_trading: bool | None = None,
        exp_time: int | None = None,
        resolve_instrument_codes: bool | None = None,
        attach_event_listeners: bool | None = None,
        request_timeout: float | None = None,
        connect_timeout: float | None = None,
        reconnect_timeout: float | None = None,
        reconnect_max: float | None = None,
        ping_interval: float | None = None,
        pong_timeout: float | None = None,
        base_ws_url: str | None = None,
        base_rest_url: str | None = None,
        time_sync: bool | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        """Create a client; nothing connects until the first call or ``connect_ws_api()``.

        ``accounts``: ``[{"apiKey": ..., "apiSecret": ..., "apiPass": ...}, ...]``; every
        call takes ``account=`` (index or API key, default the first).
        ``market``: ``"prod"`` (www.okx.com), ``"EEA"`` (my.okx.com) or ``"US"``
        (app.okx.com); ``demo_trading=True`` for the demo environment.
        ``exp_time``: default request expiry (ms from sending) for place/amend calls.
        ``base_ws_url`` / ``base_rest_url``: point at another server (the simulator).
        """
        config = build_config(
            OkxConfig,
            options,
            dict(
                accounts=accounts,
                market=market,
                demo_trading=demo_trading,
                exp_time=exp_time,
                resolve_instrument_codes=resolve_instrument_codes,
                attach_event_listeners=attach_event_listeners,
                request_timeout=request_timeout,
                connect_timeout=connect_timeout,
                reconnect_timeout=reconnect_timeout,
                reconnect_max=reconnect_max,
                ping_interval=ping_interval,
                pong_timeout=pong_timeout,
                base_ws_url=base_ws_url,
                base_rest_url=base_rest_url,
                time_sync=time_sync,
                logger=logger,
            ),
        )
        adapter = OkxAdapter(config)
        super().__init__(config, adapter, config.accounts)
        self._okx = config
        self._okx_adapter = adapter
        self._codes = InstrumentCodes(adapter.rest_base, self._core.get_json, config.demo_trading)
        if config.time_sync:
            self._core.before_connect = TimeSync(
                self._server_ms, self._set_time_offset, self._exchange
            )

    # -- routing and envelopes ---------------------------------------------------------
    def _normalize_ws_key(self, ws_key: str) -> str:
        # Node SDK keys (prodPrivate, eeaDemoBusiness, ...) port as they are.
        if isinstance(ws_key, str):
            low = ws_key.lower()
            if low.endswith("private"):
                return PRIVATE
            if low.endswith("business"):
                return BUSINESS
        raise ValidationError("ws_key", f"must be 'private' or 'business', got {ws_key!r}")

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
            if exp_time is not None:
                raise ValidationError("exp_time", f"{op.op} does not take a request expiry")
            return None
        value = exp_time if exp_time is not None else self._okx.exp_time
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValidationError(
                "exp_time", f"must be a positive number of milliseconds, got {value!r}"
            )
        return {"exp_time": value}

    # -- instIdCode --------------------------------------------------------------------
    def _send(self, idx: int, meta: RequestMeta, op: Operation | None) -> Coroutine[Any, Any, Any]:
        if op is not None and op.needs_instrument_code and self._okx.resolve_instrument_codes:
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
            if exc.code == "51001" or any(getattr(i, "sCode", "") == "51001" for i in exc.items):
                by_code = {c: i for i, c in self._codes.codes.items()}
                for item in meta.args:
                    inst = by_code.get(item.get("instIdCode", -1))
                    if inst is not None:
                        self._codes.forget(inst)
            raise

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

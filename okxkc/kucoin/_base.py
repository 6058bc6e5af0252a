"""KuCoin-specific parts the generated KuCoin facades inherit: options, routing
(``spot`` / ``futures`` sockets, or one), args shape and server-time sync."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from .._engine.clock import TimeSync
from .._facade import FacadeBase
from .._ops import Operation
from ..config import KucoinAccount, KucoinConfig, build_config
from ..errors import ExchangeError, ValidationError
from .adapter import RAW_RESULT, KucoinAdapter, ResultSpec, result_spec
from .operations import FUTURES, OPERATIONS, SPOT

__all__ = ["UNIFIED", "KucoinClientBase"]

#: The ws key of the one socket used when ``single_socket=True``.
UNIFIED = "unified"

_SPECS: dict[str, ResultSpec] = {
    op.method: result_spec(op.op, op.result, op.batch or op.result_is_list) for op in OPERATIONS
}
_BY_METHOD = {op.method: op for op in OPERATIONS}
_NODE_KEYS = {"wsapispotv1": SPOT, "wsapifuturesv1": FUTURES}


class KucoinClientBase(FacadeBase):
    _exchange = "kucoin"

    def __init__(
        self,
        options: Mapping[str, Any] | None = None,
        /,
        *,
        api_key: str | None = None,
        api_secret: str | None = None,
        api_passphrase: str | None = None,
        accounts: Sequence[Mapping[str, str] | KucoinAccount] | None = None,
        enable_ns: bool | None = None,
        single_socket: bool | None = None,
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

        Credentials: ``api_key``, ``api_secret``, ``api_passphrase`` for one account, or
        ``accounts=[{"apiKey", "apiSecret", "apiPassphrase"}, ...]`` for several (every
        call takes ``account=``). Spot and margin ops use the ``spot`` socket, futures
        ops the ``futures`` socket; ``single_socket=True`` puts all on one.
        ``base_ws_url``: point at another server (the simulator).
        """
        opts = dict(options or {})
        single = {
            k: v
            for k, v in (
                ("apiKey", api_key if api_key is not None else opts.pop("apiKey", None)),
                (
                    "apiSecret",
                    api_secret if api_secret is not None else opts.pop("apiSecret", None),
                ),
                (
                    "apiPassphrase",
                    api_passphrase
                    if api_passphrase is not None
                    else opts.pop("apiPassphrase", None),
                ),
            )
            if v is not None
        }
        if single and (accounts is not None or "accounts" in opts):
            raise ValidationError(
                "api_key", "give either api_key/api_secret/api_passphrase or accounts, not both"
            )
        if single:
            accounts = [single]
        config = build_config(
            KucoinConfig,
            opts,
            dict(
                accounts=accounts,
                enable_ns=enable_ns,
                single_socket=single_socket,
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
        self._ws_keys = (UNIFIED,) if config.single_socket else (SPOT, FUTURES)
        adapter = KucoinAdapter(config)
        super().__init__(config, adapter, config.accounts)
        self._kc = config
        self._kc_adapter = adapter
        if config.time_sync:
            self._core.before_connect = TimeSync(
                self._server_ms, self._set_time_offset, self._exchange
            )

    def _ws_key_for(self, op: Operation) -> str:
        return UNIFIED if self._kc.single_socket else op.ws_key

    def _normalize_ws_key(self, ws_key: str) -> str:
        if isinstance(ws_key, str):
            key = _NODE_KEYS.get(ws_key.lower(), ws_key)
            if self._kc.single_socket and key in (SPOT, FUTURES, UNIFIED):
                return UNIFIED
            if key in self._ws_keys:
                return key
        raise ValidationError(
            "ws_key", f"must be one of {', '.join(self._ws_keys)}; got {ws_key!r}"
        )

    def _wrap_args(self, op: Operation, items: list[dict[str, Any]]) -> Any:
        return items if op.batch else items[0]

    def _result_spec(self, op: Operation) -> ResultSpec:
        return _SPECS[op.method]

    def _raw_result_spec(self) -> ResultSpec:
        return RAW_RESULT

    def _raw_args(self, params: Any) -> Any:
        if isinstance(params, Mapping):
            return dict(params)
        if isinstance(params, Sequence) and not isinstance(params, str):
            return [dict(p) for p in params]
        raise ValidationError("params", "must be a dict or a list of dicts")

    async def _server_ms(self) -> int:
        body = await self._core.get_json(f"{self._kc_adapter.rest_base}/api/v1/timestamp", None)
        try:
            return int(body["data"])
        except (KeyError, IndexError, TypeError, ValueError):
            raise ExchangeError("time", f"unexpected server time reply: {body!r}"[:200]) from None

    def _set_time_offset(self, offset_ms: int) -> None:
        self._kc_adapter.time_offset_ms = offset_ms


def operation(method: str) -> Operation:
    return _BY_METHOD[method]

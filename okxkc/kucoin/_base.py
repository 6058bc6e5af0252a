"""KuCoin-specific parts the generated KuCoin facades inherit: options, routing
(``spot`` / ``futures`` sockets, or one), args shape and server-time sync."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._engine.clock import TimeSync
from .._engine.outcome import Resolver
from .._facade import FacadeBase
from .._ops import Operation, use_checks
from ..config import KucoinConfig, build_config
from ..errors import ExchangeError, ValidationError
from ._checks import CHECKS
from .adapter import RAW_RESULT, KucoinAdapter, ResultSpec, result_spec
from .lookup import FUTURES_REST, KucoinLookups
from .operations import FUTURES, OPERATIONS, SPOT

__all__ = ["UNIFIED", "KucoinClientBase"]

#: The ws key of the one socket used when ``single_socket=True``.
UNIFIED = "unified"

_SPECS: dict[str, ResultSpec] = {
    op.method: result_spec(op.op, op.result, op.batch or op.result_is_list) for op in OPERATIONS
}
_BY_METHOD = {op.method: op for op in OPERATIONS}
use_checks(OPERATIONS, CHECKS)
#: The ws keys of the operation table, in order (``spot``, ``futures``, ...).
_OP_KEYS = tuple(dict.fromkeys(op.ws_key for op in OPERATIONS))
# The Node SDK's WS API keys, and its other sockets (streams, not the trading API).
_NODE_KEYS = {"wsapispotv1": SPOT, "wsapifuturesv1": FUTURES}
_NODE_STREAM_KEYS = frozenset(
    k.lower()
    for k in (
        "spotPublicV1",
        "spotPrivateV1",
        "futuresPublicV1",
        "futuresPrivateV1",
        "spotPublicProV2",
        "futuresPublicProV2",
        "privateProV2",
    )
)


class KucoinClientBase(FacadeBase):
    _exchange = "kucoin"
    _args_is_item = True  # a single call's args is one JSON object

    def __init__(self, options: Mapping[str, Any] | None, kwargs: Mapping[str, Any]) -> None:
        config = build_config(KucoinConfig, options, kwargs)
        self._ws_keys = (UNIFIED,) if config.single_socket else _OP_KEYS
        adapter = KucoinAdapter(config)
        super().__init__(config, adapter, config.accounts)
        self._kc = config
        self._kc_adapter = adapter
        # One base_rest_url serves both hosts' paths (as the simulator does).
        futures_rest = config.base_rest_url or FUTURES_REST
        self._outcome = Resolver(
            self._core,
            KucoinLookups(adapter.rest_base, futures_rest, adapter.clock),
            enabled=config.resolve_unknown,
            settle=config.settle_time,
            grace=config.resolve_grace,
        )
        self._core.on_lost = self._outcome.settle_lost
        if config.time_sync:
            self._core.before_connect = TimeSync(
                self._server_ms, self._set_time_offset, self._exchange
            )

    def _ws_key_for(self, op: Operation) -> str:
        return UNIFIED if self._kc.single_socket else op.ws_key

    def _normalize_ws_key(self, ws_key: str) -> str:
        if isinstance(ws_key, str):
            key = _NODE_KEYS.get(ws_key.lower(), ws_key)
            if self._kc.single_socket and key in (*_OP_KEYS, UNIFIED):
                return UNIFIED
            if key in self._ws_keys:
                return key
            if ws_key.lower() in _NODE_STREAM_KEYS:
                raise ValidationError(
                    "ws_key",
                    f"{ws_key!r} is a KuCoin market-data / account-stream socket, not the WS "
                    f"trading API; use {' or '.join(self._ws_keys)} (Node: wsApiSpotV1, "
                    "wsApiFuturesV1); nothing was sent",
                )
        raise ValidationError(
            "ws_key", f"must be one of {', '.join(self._ws_keys)}; got {ws_key!r}"
        )

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

"""``send_ws_api_request`` with an op the WS API does not answer as a request/reply
(a channel ``subscribe``, an unknown op) ends at once with a clear error, never
with a timeout. Both exchanges, both facades."""

from __future__ import annotations

import time
from typing import Any

import pytest

from okxkc._engine.protocol import Kind
from okxkc.errors import ExchangeError
from okxkc.kucoin.adapter import KucoinAdapter
from okxkc.okx.adapter import OkxAdapter
from okxkc.testing.kucoin import KucoinSimulator
from okxkc.testing.okx import OkxSimulator

from .conftest import make_kucoin, make_okx

ORDER = dict(instId="BTC-USDT", tdMode="cash", side="buy", ordType="limit", px="20000", sz="0.01")

CASES: dict[str, tuple[str, str, dict[str, Any], str]] = {
    # name: (exchange, op, params, expected code)
    "okx-subscribe": ("okx", "subscribe", {"channel": "orders", "instType": "ANY"}, "event"),
    "okx-unknown-op": ("okx", "no-such-op", {"x": "1"}, "60019"),
    "kucoin-subscribe": ("kucoin", "subscribe", {"topic": "/market/ticker:BTC-USDT"}, "400100"),
    "kucoin-unknown-op": ("kucoin", "no.such.op", {"x": "1"}, "400100"),
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_a_reply_okxkc_cannot_read_as_a_request_reply_fails_at_once(
    case: str, facade_kind: str
) -> None:
    exchange, op, params, code = CASES[case]
    sim: Any = OkxSimulator() if exchange == "okx" else KucoinSimulator()
    with sim:
        make = make_okx if exchange == "okx" else make_kucoin
        key = "private" if exchange == "okx" else "spot"
        c = make(facade_kind, sim, request_timeout=5.0)
        await c.connect_ws_api([key])
        t0 = time.monotonic()
        with pytest.raises(ExchangeError) as err:
            await c.send_ws_api_request(key, op, params)
        assert time.monotonic() - t0 < 1.0  # the reply, not the 5 s deadline
        assert err.value.code == code and err.value.op == op
        assert c.pending_requests() == 0
        # the socket is still fine for orders
        if exchange == "okx":
            assert (await c.submit_new_order(**ORDER)).data[0].sCode == "0"
        else:
            res = await c.submit_new_spot_order(
                symbol="BTC-USDT", side="buy", type="limit", price="20000", size="0.001"
            )
            assert res.code == "200000"
        await c.close()


def test_any_frame_with_an_id_is_a_reply() -> None:
    okx_adapter = OkxAdapter.__new__(OkxAdapter)
    kc_adapter = KucoinAdapter.__new__(KucoinAdapter)
    inc = okx_adapter.classify(b'{"id":"a1","event":"subscribe","arg":{"channel":"orders"}}')
    assert inc.kind == Kind.RESPONSE and inc.request_id == "a1"
    inc = kc_adapter.classify(b'{"id":"k1","code":"200000","data":{"x":1}}')  # no op
    assert inc.kind == Kind.RESPONSE and inc.request_id == "k1"
    # OKX refusing a malformed request without its id, but echoing it
    inc = okx_adapter.classify(
        b'{"event":"error","code":"60012","msg":"Invalid request: {\\"id\\":\\"e7\\",\\"op\\":1}"}'
    )
    assert inc.kind == Kind.RESPONSE and inc.request_id == "e7"
    inc = okx_adapter.classify(b'{"event":"error","code":"60019","msg":"Invalid op: nope"}')
    assert inc.kind == Kind.ERROR and inc.op == "nope"

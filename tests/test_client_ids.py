"""Every KuCoin place has a client id: a margin, futures (single and each batch item) or
UTA order placed without ``clientOid`` reaches the exchange with one okxkc generated
(valid for KuCoin: at most 40 letters, digits, '_' or '-'), with or without
``resolve_unknown``, and the result shows it.

Before, only spot places got one: a futures or margin place without ``clientOid`` was
refused before sending (the table marked it required), and a UTA place went out without
one, so a lost reply could not be looked up.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from okxkc.testing.kucoin import KucoinSimulator

from .conftest import Facade, make_kucoin

KUCOIN_CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
MARGIN = dict(symbol="BTC-USDT", side="buy", type="limit", price="20000", size="0.001")
FUT = dict(symbol="XBTUSDTM", side="buy", type="limit", price="30000", size=1, leverage=5)
UTA_SPOT = dict(
    tradeType="SPOT", symbol="BTC-USDT", side="BUY", orderType="LIMIT", size="0.5", price="100"
)
UTA_FUT = dict(
    tradeType="FUTURES", symbol="XBTUSDTM", side="BUY", orderType="LIMIT", size="1", price="100"
)

Place = Callable[[Facade], Awaitable[Any]]
PLACES: dict[str, tuple[str, Place]] = {
    "margin": ("margin.order", lambda c: c.submit_margin_order(**MARGIN)),
    "futures": ("futures.order", lambda c: c.submit_futures_order(**FUT)),
    "uta_spot": ("uta.order", lambda c: c.submit_uta_order(**UTA_SPOT)),
    "uta_futures": ("uta.order", lambda c: c.submit_uta_order(**UTA_FUT)),
}


def _sent(sim: KucoinSimulator, op: str) -> list[Any]:
    return [r["args"] for r in sim.received if r.get("op") == op]


@pytest.mark.parametrize("resolve", [True, False], ids=["resolve", "no_resolve"])
@pytest.mark.parametrize("kind", list(PLACES))
async def test_place_without_client_id_gets_one(
    kind: str, resolve: bool, facade_kind: str, kucoin_sim: KucoinSimulator
) -> None:
    op, place = PLACES[kind]
    c = make_kucoin(facade_kind, kucoin_sim, resolve_unknown=resolve)
    try:
        first = await place(c)
        second = await place(c)
    finally:
        await _close(c)
    sent = _sent(kucoin_sim, op)
    assert len(sent) == 2
    ids = [a["clientOid"] for a in sent]
    assert all(KUCOIN_CLIENT_ID.fullmatch(i) for i in ids) and ids[0] != ids[1]
    # the result carries the id the exchange received, and the order is booked under it
    assert [first.data.clientOid, second.data.clientOid] == ids
    for i in ids:
        o = kucoin_sim.find_order(client_oid=i)
        assert o is not None and o["orderId"] in (first.data.orderId, second.data.orderId)


@pytest.mark.parametrize("resolve", [True, False], ids=["resolve", "no_resolve"])
async def test_each_futures_batch_item_without_client_id_gets_one(
    resolve: bool, facade_kind: str, kucoin_sim: KucoinSimulator
) -> None:
    c = make_kucoin(facade_kind, kucoin_sim, resolve_unknown=resolve)
    try:
        res = await c.submit_multiple_futures_orders(
            [dict(FUT), dict(FUT, clientOid="mine-1"), dict(FUT, price="29000")]
        )
    finally:
        await _close(c)
    (args,) = _sent(kucoin_sim, "futures.multi_order")
    ids = [item["clientOid"] for item in args]
    assert ids[1] == "mine-1"  # a user's id is kept
    assert all(KUCOIN_CLIENT_ID.fullmatch(i) for i in ids) and len(set(ids)) == 3
    assert [item.clientOid for item in res.data] == ids
    assert all(item.code == "200000" for item in res.data)


async def _close(c: Facade) -> None:
    await (c.close() if c.is_async else asyncio.to_thread(c.client.close))

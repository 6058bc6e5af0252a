"""instId -> instIdCode cache: what a refused code does to later calls."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from okxkc.errors import PartialFailureError
from okxkc.okx.instruments import InstrumentCodes
from okxkc.testing.okx import OkxSimulator

from .conftest import Facade

ORDER = dict(instId="BTC-USDT", tdMode="cash", side="buy", ordType="limit", px="100", sz="1")


async def test_a_refused_item_does_not_spoil_the_batchs_good_instruments(
    okx_client: Facade, okx_sim: OkxSimulator
) -> None:
    # Item 0 names an instrument code the exchange does not know (51001); item 1 is a
    # good BTC-USDT order. Only item 0's mapping may be dropped: the next BTC-USDT
    # order, a moment later, must go out (it used to fail "unknown instrument").
    bad = {k: v for k, v in ORDER.items() if k != "instId"} | {"instIdCode": 1}
    with pytest.raises(PartialFailureError) as err:
        await okx_client.submit_multiple_orders([bad, dict(ORDER, clOrdId="good1")])
    assert [i.sCode for i in err.value.items] == ["51001", "0"]
    res = await okx_client.submit_new_order(**ORDER, clOrdId="good2")
    assert res.data[0].sCode == "0"
    assert {o["clOrdId"] for o in okx_sim.orders()} == {"good1", "good2"}


async def test_a_forgotten_instrument_is_fetched_again_at_once() -> None:
    fetches: list[str] = []
    listing = {"BTC-USDT": 1001}

    async def get_json(url: str, headers: Mapping[str, str] | None) -> Any:
        fetches.append(url)
        rows = [{"instId": i, "instIdCode": str(c)} for i, c in listing.items()]
        return {"code": "0", "data": rows}

    codes = InstrumentCodes("http://127.0.0.1:1", get_json, demo=False)
    assert await codes.resolve("BTC-USDT") == 1001
    listing["BTC-USDT"] = 2002  # the exchange re-coded it; an order got 51001
    codes.forget("BTC-USDT")
    assert await codes.resolve("BTC-USDT") == 2002
    assert len(fetches) == 2
    # An instrument that is simply not listed is not refetched on every call.
    for _ in range(3):
        with pytest.raises(Exception, match="unknown instrument"):
            await codes.resolve("NOPE-USDT")
    assert len(fetches) == 2

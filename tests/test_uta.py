"""KuCoin Unified Trading Account ops (``uta.order``, ``uta.amend``, ``uta.cancel``):
their fields' rules checked before sending, and the calls end to end through both
facades against the simulated KuCoin (args one JSON object, typed results, KuCoin's
error codes for unknown orders and duplicate client ids)."""

from __future__ import annotations

from typing import Any

import pytest

from okxkc import kucoin as kc
from okxkc._ops import validate_item
from okxkc.errors import ExchangeError, ValidationError
from okxkc.kucoin.models import UtaAmendAck, UtaCancelAck, UtaOrderAck
from okxkc.kucoin.operations import OPERATIONS
from okxkc.testing.kucoin import KucoinSimulator

from .conftest import Facade

OPS = {op.method: op for op in OPERATIONS}
ORDER = dict(tradeType="SPOT", symbol="BTC-USDT", side="BUY", orderType="LIMIT", size="0.5")
LIMIT = dict(ORDER, price="100")


def sent(sim: KucoinSimulator, op: str) -> list[dict[str, Any]]:
    return [r for r in sim.received if r.get("op") == op]


# -- the fields' rules, no exchange needed --------------------------------------------------
@pytest.mark.parametrize(
    ("method", "params", "field", "words"),
    [
        ("submit_uta_order", dict(ORDER, tradeType=None, price="1"), "tradeType", "required"),
        ("submit_uta_order", dict(LIMIT, tradeType="spot"), "tradeType", "one of SPOT"),
        ("submit_uta_order", dict(LIMIT, side="buy"), "side", "one of BUY, SELL"),
        ("submit_uta_order", dict(LIMIT, orderType="STOP"), "orderType", "one of LIMIT"),
        ("submit_uta_order", dict(LIMIT, size=None), "size", "required"),
        ("submit_uta_order", dict(LIMIT, size="0"), "size", "greater than 0"),
        ("submit_uta_order", dict(LIMIT, size="-1"), "size", "greater than 0"),
        ("submit_uta_order", ORDER, "price", "when orderType is 'LIMIT'"),
        ("submit_uta_order", dict(LIMIT, price="-100"), "price", "greater than 0"),
        ("submit_uta_order", dict(LIMIT, sizeUnit="LOTS"), "sizeUnit", "one of BASECCY"),
        ("submit_uta_order", dict(LIMIT, clientOid="c" * 41), "clientOid", "at most 40"),
        ("submit_uta_order", dict(LIMIT, timeInForce="GTD"), "timeInForce", "one of GTC"),
        ("submit_uta_order", dict(LIMIT, cancelAfter=-2), "cancelAfter", "at least -1"),
        ("submit_uta_order", dict(LIMIT, triggerPrice="90"), "triggerDirection", "required"),
        ("submit_uta_order", dict(LIMIT, triggerDirection="SIDEWAYS"), "triggerDirection", "UP"),
        ("submit_uta_order", dict(LIMIT, tpTriggerPriceType="XP"), "tpTriggerPriceType", "TP"),
        ("submit_uta_order", dict(LIMIT, leverage="0"), "leverage", "greater than 0"),
        ("submit_uta_order", dict(LIMIT, brokerTag="b" * 51), "brokerTag", "at most 50"),
        ("submit_uta_order", dict(LIMIT, postOnly="yes"), "postOnly", "bool"),
        ("amend_uta_order", dict(orderId="1", newPrice="1"), "symbol", "required"),
        ("amend_uta_order", dict(symbol="BTC-USDT", newPrice="1"), "orderId", "one of orderId"),
        ("amend_uta_order", dict(symbol="BTC-USDT", orderId="1"), "newPrice", "one of newPrice"),
        ("amend_uta_order", dict(symbol="X", orderId="1", newSize="-2"), "newSize", "than 0"),
        ("cancel_uta_order", dict(symbol="BTC-USDT", orderId="1"), "tradeType", "required"),
        ("cancel_uta_order", dict(tradeType="SPOT", symbol="BTC-USDT"), "orderId", "one of"),
    ],
)
def test_uta_fields_are_checked(
    method: str, params: dict[str, Any], field: str, words: str
) -> None:
    given = {k: v for k, v in params.items() if v is not None}
    with pytest.raises(ValidationError) as err:
        validate_item(OPS[method], given)
    assert err.value.field == field and words in str(err.value), str(err.value)


def test_uta_lenient_where_the_sources_disagree() -> None:
    """Rules only one source has are left to the exchange: no sizeUnit, a FUTURES order
    without clientOid, a cancel without symbol, GTT on FUTURES, a long tags."""
    validate_item(OPS["submit_uta_order"], LIMIT)
    validate_item(
        OPS["submit_uta_order"],
        dict(LIMIT, tradeType="FUTURES", symbol="XBTUSDTM", timeInForce="GTT", tags="t" * 30),
    )
    validate_item(OPS["submit_uta_order"], dict(ORDER, orderType="MARKET"))
    validate_item(OPS["cancel_uta_order"], dict(tradeType="FUTURES", orderId="1"))


# -- end to end through both facades ---------------------------------------------------------
async def test_uta_place_amend_cancel(kucoin_client: Facade, kucoin_sim: KucoinSimulator) -> None:
    placed = await kucoin_client.submit_uta_order(**LIMIT, sizeUnit="BASECCY", clientOid="u1")
    assert isinstance(placed, kc.KucoinResponse) and isinstance(placed.data, UtaOrderAck)
    assert placed.code == "200000" and placed.op == "uta.order" and placed.ws_key == "spot"
    assert placed.data.clientOid == "u1" and placed.data.orderId
    assert placed.inTime is not None and placed.outTime is not None
    # args travel as one JSON object (not a list), numbers as the decimal strings given
    (frame,) = sent(kucoin_sim, "uta.order")
    assert frame["args"] == dict(LIMIT, sizeUnit="BASECCY", clientOid="u1")

    amended = await kucoin_client.amend_uta_order(symbol="BTC-USDT", clientOid="u1", newPrice=101)
    assert isinstance(amended.data, UtaAmendAck) and amended.data.orderId == placed.data.orderId
    (frame,) = sent(kucoin_sim, "uta.amend")
    assert frame["args"] == {"symbol": "BTC-USDT", "clientOid": "u1", "newPrice": "101"}
    assert kucoin_sim.find_order(client_oid="u1")["price"] == "101"  # type: ignore[index]

    cancelled = await kucoin_client.cancel_uta_order(
        tradeType="SPOT", symbol="BTC-USDT", orderId=placed.data.orderId
    )
    assert isinstance(cancelled.data, UtaCancelAck)
    assert cancelled.data.orderId == placed.data.orderId
    assert isinstance(sent(kucoin_sim, "uta.cancel")[0]["args"], dict)
    assert kucoin_sim.find_order(order_id=placed.data.orderId)["status"] == "done"  # type: ignore[index]


async def test_uta_futures_order(kucoin_client: Facade, kucoin_sim: KucoinSimulator) -> None:
    res = await kucoin_client.submit_uta_order(
        tradeType="FUTURES",
        symbol="XBTUSDTM",
        side="SELL",
        orderType="LIMIT",
        size=3,
        sizeUnit="UNIT",
        price="200",
        clientOid="uf1",
    )
    assert res.data.clientOid == "uf1"
    assert kucoin_sim.find_order(client_oid="uf1")["symbol"] == "XBTUSDTM"  # type: ignore[index]
    assert sent(kucoin_sim, "uta.order")[0]["args"]["size"] == "3"


async def test_uta_refusals_are_exchange_errors(
    kucoin_client: Facade, kucoin_sim: KucoinSimulator
) -> None:
    await kucoin_client.submit_uta_order(**LIMIT, clientOid="dup")
    with pytest.raises(ExchangeError) as err:
        await kucoin_client.submit_uta_order(**LIMIT, clientOid="dup")
    assert err.value.op == "uta.order" and err.value.code not in ("200000", None)
    with pytest.raises(ExchangeError) as err:
        await kucoin_client.cancel_uta_order(tradeType="SPOT", orderId="f" * 24)
    assert err.value.op == "uta.cancel"


async def test_uta_bad_input_sends_nothing(
    kucoin_client: Facade, kucoin_sim: KucoinSimulator
) -> None:
    before = len(kucoin_sim.received)
    with pytest.raises(ValidationError) as err:
        await kucoin_client.submit_uta_order(**ORDER)  # LIMIT without price
    assert err.value.field == "price"
    with pytest.raises(ValidationError) as err:
        await kucoin_client.amend_uta_order(symbol="BTC-USDT", orderId="1")
    assert err.value.field == "newPrice"
    assert len(kucoin_sim.received) == before

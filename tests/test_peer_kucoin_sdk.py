"""KuCoin's official Python SDK, unchanged, trades against okxkc's KuCoin simulator over
its UTA trade socket (``uta.order``, ``uta.amend``, ``uta.cancel``).

Runs when ``kucoin-universal-sdk`` (import name ``kucoin_universal_sdk``, tested with
1.3.2, in the ``peers`` extra) is installed; skipped otherwise, unless
``OKXKC_REQUIRE_PEERS`` is set (CI), which turns a missing SDK into a failure. The
SDK's socket URL is a class attribute (``UtaPrivateTradeWsService.ENDPOINT``), pointed
at the simulator for each test. The SDK is blocking (its own threads), so the
simulator runs on its own thread too.
"""

from __future__ import annotations

import importlib
import json
import os
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

# The SDK's generated models use a pydantic feature deprecated since 2.0; importing
# them warns, and this suite turns warnings into errors.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    if os.environ.get("OKXKC_REQUIRE_PEERS"):
        importlib.import_module("kucoin_universal_sdk")
    else:
        pytest.importorskip("kucoin_universal_sdk")

    from kucoin_universal_sdk.api import DefaultClient
    from kucoin_universal_sdk.internal.infra.uta_private_trade_ws_service import (
        UtaPrivateTradeWsService,
    )
    from kucoin_universal_sdk.model.client_option import ClientOptionBuilder
    from kucoin_universal_sdk.model.websocket_option import WebSocketClientOption

from okxkc.testing.kucoin import MSG_DUPLICATE_CLIENT_OID, KucoinSimulator

KEY, SECRET, PASS = "okxkc-test-key", "okxkc-test-secret", "okxkc-test-pass"


@pytest.fixture
def sim() -> Iterator[KucoinSimulator]:
    with KucoinSimulator() as s:
        yield s


@pytest.fixture
def trade_ws(sim: KucoinSimulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setattr(UtaPrivateTradeWsService, "ENDPOINT", sim.private_url)
    option = (
        ClientOptionBuilder()
        .set_key(KEY)
        .set_secret(SECRET)
        .set_passphrase(PASS)
        .set_spot_endpoint(sim.url)
        .set_futures_endpoint(sim.url)
        .set_broker_endpoint(sim.url)
        .set_websocket_client_option(
            WebSocketClientOption(reconnect=False, dial_timeout=5, write_timeout=5)
        )
        .build()
    )
    ws = DefaultClient(option).ws_service().new_uta_private_trade_ws()
    ws.start()
    try:
        yield ws
    finally:
        ws.stop()


@pytest.mark.parametrize(
    ("order", "amend"),
    [
        (
            {
                "tradeType": "SPOT",
                "symbol": "BTC-USDT",
                "side": "BUY",
                "orderType": "LIMIT",
                "size": "0.01",
                "sizeUnit": "BASECCY",
                "price": "20000",
                "timeInForce": "GTC",
                "clientOid": "sdk-spot-1",
            },
            {"newPrice": "20001"},
        ),
        (
            {
                "tradeType": "FUTURES",
                "symbol": "XBTUSDTM",
                "side": "SELL",
                "orderType": "LIMIT",
                "size": "2",
                "sizeUnit": "UNIT",
                "price": "90000",
                "clientOid": "sdk-fut-1",
                "marginMode": "CROSS",
                "tpTriggerPrice": "",  # the SDK drops blank TP/SL fields itself
                "tpTriggerPriceType": "MP",
            },
            {"newSize": "3"},
        ),
    ],
    ids=["spot", "futures"],
)
def test_sdk_places_amends_and_cancels(
    sim: KucoinSimulator, trade_ws: Any, order: dict[str, Any], amend: dict[str, Any]
) -> None:
    coid, symbol = order["clientOid"], order["symbol"]
    placed = trade_ws.place_order(order)
    assert (placed["op"], placed["code"]) == ("uta.order", "200000")
    oid = placed["data"]["orderId"]
    assert placed["data"]["clientOid"] == coid
    booked = sim.find_order(client_oid=coid)
    assert booked is not None and (booked["orderId"], booked["status"]) == (oid, "open")
    assert "tpTriggerPrice" not in sim.received[-1]["args"]

    amended = trade_ws.amend_order({"symbol": symbol, "clientOid": coid, **amend})
    assert (amended["op"], amended["code"]) == ("uta.amend", "200000")
    assert amended["data"] == {"orderId": oid, "clientOid": coid}
    after = sim.find_order(order_id=oid)
    assert after is not None
    if "newPrice" in amend:
        assert after["price"] == amend["newPrice"]
    else:
        assert after["size"] == amend["newSize"]

    canceled = trade_ws.cancel_order(
        {"tradeType": order["tradeType"], "symbol": symbol, "orderId": oid}
    )
    assert (canceled["op"], canceled["code"]) == ("uta.cancel", "200000")
    assert canceled["data"]["orderId"] == oid
    done = sim.find_order(order_id=oid)
    assert done is not None and done["status"] == "done" and done["canceledSize"] != "0"
    assert [r["op"] for r in sim.received] == ["uta.order", "uta.amend", "uta.cancel"]


def test_sdk_meets_a_refusal(sim: KucoinSimulator, trade_ws: Any) -> None:
    order = {
        "tradeType": "SPOT",
        "symbol": "BTC-USDT",
        "side": "SELL",
        "orderType": "LIMIT",
        "size": "1",
        "sizeUnit": "BASECCY",
        "price": "30000",
        "clientOid": "sdk-dup",
    }
    assert trade_ws.place_order(order)["code"] == "200000"
    with pytest.raises(RuntimeError, match=r"uta\.order failed") as refused:
        trade_ws.place_order(order)
    reply = json.loads(str(refused.value.__cause__))
    assert (reply["code"], reply["msg"], reply["op"]) == (
        "400100",
        MSG_DUPLICATE_CLIENT_OID,
        "uta.order",
    )
    with pytest.raises(RuntimeError, match=r"uta\.cancel failed") as unknown:
        trade_ws.cancel_order({"tradeType": "SPOT", "symbol": "BTC-USDT", "clientOid": "nobody"})
    assert json.loads(str(unknown.value.__cause__))["code"] == "400100"
    # Still one order, still open, and the socket still serves.
    assert len(sim.orders()) == 1
    cancel = {"tradeType": "SPOT", "symbol": "BTC-USDT", "clientOid": "sdk-dup"}
    assert trade_ws.cancel_order(cancel)["code"] == "200000"

"""Porting a REST order-placement script: same params dicts, passed as ``**params``.

A typical REST script keeps each order as a dict in the exchange's own field names
and reads the exchange's JSON reply back as a dict::

    reply = rest.post("/api/v5/trade/order", body=params)       # OKX REST
    if reply["code"] == "0":
        print(reply["data"][0]["ordId"])

With okxkc the dicts stay exactly as they were. ``client.submit_new_order(**params)``
sends them over one persistent, authenticated WebSocket instead of one signed HTTPS
request each, and ``res.to_dict()`` is the JSON dict the code below it already reads.
What changes: a refused order raises ``ExchangeError`` (with ``.code``, ``.msg`` and
the raw reply in ``.response``) instead of coming back with a non-zero code; a bad
value or a misspelt field name raises ``ValidationError`` naming the field (with a
"did you mean ...?" for a misspelling), before anything is sent.

Runs against the simulators with no arguments; for the real exchanges drop the
simulators and the ``base_*_url`` options and pass your own keys.
"""

from __future__ import annotations

import json
from typing import Any

from okxkc import kucoin, okx
from okxkc.errors import ExchangeError, ValidationError
from okxkc.testing.kucoin import KucoinSimulator
from okxkc.testing.okx import OkxSimulator

# The dicts a REST script would POST, unchanged. ``dict[str, Any]`` (like parsed JSON)
# keeps a type checker happy: the values are checked when the call is made.
OKX_ORDERS: list[dict[str, Any]] = [
    {
        "instId": "BTC-USDT",
        "tdMode": "cash",
        "side": "buy",
        "ordType": "limit",
        "px": "20000",
        "sz": "0.01",
        "clOrdId": "rest1",
    },
    {
        "instId": "ETH-USDT",
        "tdMode": "cash",
        "side": "sell",
        "ordType": "limit",
        "px": "4000",
        "sz": "0.1",
        "clOrdId": "rest2",
    },
]
KUCOIN_ORDER: dict[str, Any] = {
    "clientOid": "rest3",
    "symbol": "BTC-USDT",
    "side": "buy",
    "type": "limit",
    "price": "20000",
    "size": "0.001",
}


def show(title: str, reply: dict[str, Any]) -> None:
    print(f"{title}: {json.dumps(reply, sort_keys=True)}")


def okx_port(sim: OkxSimulator) -> None:
    client = okx.WebsocketAPIClient(
        accounts=[
            {
                "apiKey": "okxkc-test-key",
                "apiSecret": "okxkc-test-secret",
                "apiPass": "okxkc-test-pass",
            }
        ],
        base_ws_url=sim.ws_url,
        base_rest_url=sim.url,
        attach_event_listeners=False,
    )
    with client:
        for params in OKX_ORDERS:
            reply = client.submit_new_order(**params).to_dict()
            if reply["code"] == "0":  # the REST script's own check still works
                show(f"okx placed {params['clOrdId']}", reply["data"][0])

        # A batch is the same list of dicts the REST batch endpoint takes.
        cancels = [{"instId": p["instId"], "clOrdId": p["clOrdId"]} for p in OKX_ORDERS]
        reply = client.cancel_multiple_orders(cancels).to_dict()
        print("okx batch cancel sCodes:", [item["sCode"] for item in reply["data"]])

        # Refusals raise instead of returning a non-zero code; the reply is kept.
        try:
            client.cancel_order(instId="BTC-USDT", clOrdId="rest1")
        except ExchangeError as exc:
            print(f"okx refused again: code={exc.code} sCode={exc.response['data'][0]['sCode']}")

        # Mistakes are caught before sending: a bad value names its field ...
        try:
            client.submit_new_order(**{**OKX_ORDERS[0], "side": "BUY"})
        except ValidationError as exc:
            print(f"okx caught before sending: bad {exc.field}")
        # ... and so does a misspelt name, with the closest field suggested.
        try:
            client.submit_new_order(**{**OKX_ORDERS[0], "ordtype": "limit"})
        except ValidationError as exc:
            print(f"okx caught before sending: {exc}")


def kucoin_port(sim: KucoinSimulator) -> None:
    client = kucoin.WebsocketAPIClient(
        api_key="okxkc-test-key",
        api_secret="okxkc-test-secret",
        api_passphrase="okxkc-test-pass",
        base_ws_url=sim.ws_url,
        attach_event_listeners=False,
    )
    with client:
        reply = client.submit_new_spot_order(**KUCOIN_ORDER).to_dict()
        show("kucoin placed rest3", reply["data"])
        cancel = {"symbol": KUCOIN_ORDER["symbol"], "clientOid": KUCOIN_ORDER["clientOid"]}
        reply = client.cancel_spot_order(**cancel).to_dict()
        show("kucoin cancelled rest3", reply["data"])


def main() -> None:
    with OkxSimulator() as okx_sim, KucoinSimulator() as kucoin_sim:
        okx_port(okx_sim)
        kucoin_port(kucoin_sim)


if __name__ == "__main__":
    main()

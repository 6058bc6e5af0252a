"""A blocking script: place, amend and cancel one OKX order (against the simulator).

Run it with no arguments; for the real exchange drop the simulator and the
base_*_url options and pass your own keys.
"""

from __future__ import annotations

from okxkc.errors import ExchangeError
from okxkc.okx import WebsocketAPIClient
from okxkc.testing.okx import OkxSimulator


def main() -> None:
    with OkxSimulator() as sim:
        client = WebsocketAPIClient(
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
            client.connect_ws_api()
            placed = client.submit_new_order(
                instId="BTC-USDT",
                tdMode="cash",
                side="buy",
                ordType="limit",
                px="20000",
                sz="0.01",
                clOrdId="qs1",
            )
            print("placed", placed.data[0].ordId)
            amended = client.amend_order(instId="BTC-USDT", clOrdId="qs1", newPx="20010")
            print("amend accepted", amended.data[0].sCode == "0")
            cancelled = client.cancel_order(instId="BTC-USDT", clOrdId="qs1")
            print("cancel accepted", cancelled.data[0].sCode == "0")
            try:
                client.cancel_order(instId="BTC-USDT", clOrdId="qs1")
            except ExchangeError as exc:
                print("second cancel refused:", exc.code, exc.msg)


if __name__ == "__main__":
    main()

"""KuCoin's official kucoin-universal-sdk as a benchmark client (runs in its own venv).

    <cache>/kucoin-sdk-venv/bin/python benchmarks/peer_kucoin_sdk.py kucoin-sdk PLAN_JSON RESULT_FILE

The SDK's only WebSocket trading path is its UTA trade socket
(``UtaPrivateTradeWS``), which sends ``uta.order``. It is built the documented way,
``DefaultClient(option).ws_service().new_uta_private_trade_ws()``, with the
endpoint (a class attribute, not an option) pointed at the simulator; ``start()``
connects and signs in, ``place_order`` blocks until the reply and raises on a
rejection. The order is the same IOC limit buy of 0.01 BTC-USDT at 20000 that okxkc
sends as a UTA order. The SDK is blocking only, so the workload drives it like
okxkc's blocking facade. This process never imports okxkc.
"""

from __future__ import annotations

import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _workload import drive_sync, read_plan, write_result

ORDER = {
    "tradeType": "SPOT",
    "symbol": "BTC-USDT",
    "side": "BUY",
    "orderType": "LIMIT",
    "size": "0.01",
    "sizeUnit": "BASECCY",
    "price": "20000",
    "timeInForce": "IOC",
}


class KucoinSdkClient:
    def __init__(self, plan: dict[str, Any]) -> None:
        from kucoin_universal_sdk.api import DefaultClient
        from kucoin_universal_sdk.internal.infra.uta_private_trade_ws_service import (
            UtaPrivateTradeWsService,
        )
        from kucoin_universal_sdk.model import ClientOptionBuilder, WebSocketClientOptionBuilder

        UtaPrivateTradeWsService.ENDPOINT = f"ws://127.0.0.1:{plan['kucoin_port']}/v1/private"
        self.option = (
            ClientOptionBuilder()
            .set_key("okxkc-test-key")
            .set_secret("okxkc-test-secret")
            .set_passphrase("okxkc-test-pass")
            .set_websocket_client_option(WebSocketClientOptionBuilder().build())
            .build()
        )
        self.client_cls = DefaultClient

    def open(self) -> None:
        self.ws = self.client_cls(self.option).ws_service().new_uta_private_trade_ws()
        self.ws.start()
        place = self.ws.place_order

        def order() -> Any:
            try:
                return place(ORDER)
            except RuntimeError as exc:  # the SDK keeps the exchange's reply as the cause
                raise RuntimeError(f"order rejected: {exc.__cause__ or exc}") from None

        self.order = order

    def order(self) -> Any:  # replaced in open()
        raise AssertionError

    def close(self) -> None:
        self.ws.stop()


def main() -> None:
    name, plan, result_file = read_plan()
    out = drive_sync(KucoinSdkClient(plan), plan)
    from importlib.metadata import version

    out["client"] = name
    out["version"] = version("kucoin-universal-sdk")
    write_result(result_file, out)


if __name__ == "__main__":
    main()

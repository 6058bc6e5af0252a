"""ccxt.pro okx ``create_order_ws`` as a benchmark client (runs in ccxt's own venv).

    <cache>/ccxt-venv/bin/python benchmarks/peer_ccxt.py CLIENT PLAN_JSON RESULT_FILE

CLIENT is ``ccxt-asyncio`` or ``ccxt-uvloop`` (the caller's loop). Set up for a
fair comparison: rate limiter off, markets injected from the simulator's
instrument row (``set_markets(parse_markets(...))``, so no REST call is made),
``createOrderWs.op = order`` so it sends OKX ``order`` (not a one-item
``batch-orders``), and no permessage-deflate (okxkc and the floors offer none).
The order is the same IOC buy: ccxt turns ``limit`` + ``timeInForce: IOC`` into
``ordType: ioc`` and sends ``instIdCode``; it also adds its own ``clOrdId``,
``tag`` and ``tgtCcy``. This process never imports okxkc.
"""

from __future__ import annotations

import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _workload import drive_async, read_plan, run_loop, write_result


class CcxtClient:
    def __init__(self, plan: dict[str, Any]) -> None:
        import ccxt.pro

        self.ccxtpro = ccxt.pro
        self.plan = plan

    async def open(self) -> None:
        ex = self.ccxtpro.okx(
            {
                "apiKey": "okxkc-test-key",
                "secret": "okxkc-test-secret",
                "password": "okxkc-test-pass",
                "enableRateLimit": False,
                "options": {"ws": {"compress": 0}, "createOrderWs": {"op": "order"}},
            }
        )
        ex.urls["api"]["ws"] = f"ws://127.0.0.1:{self.plan['okx_port']}/ws/v5"
        ex.urls["api"]["rest"] = "http://127.0.0.1:9"  # never called: markets are injected
        ex.set_markets(ex.parse_markets([self.plan["instrument"]]))
        self.ex = ex
        create = ex.create_order_ws
        params = {"timeInForce": "IOC"}

        async def order() -> Any:
            return await create("BTC/USDT", "limit", "buy", 0.01, 20000, params)

        self.order = order

    async def order(self) -> Any:  # replaced in open()
        raise AssertionError

    async def close(self) -> None:
        await self.ex.close()


def main() -> None:
    name, plan, result_file = read_plan()
    loop_name = {"ccxt-asyncio": "asyncio", "ccxt-uvloop": "uvloop"}[name]
    out = run_loop(drive_async(CcxtClient(plan), plan), loop_name)
    import ccxt

    out["client"] = name
    out["version"] = ccxt.__version__
    write_result(result_file, out)


if __name__ == "__main__":
    main()

"""An asyncio bot: place 100 KuCoin spot orders concurrently, then cancel them all.

Runs against the simulator with no arguments.
"""

from __future__ import annotations

import asyncio
import time

from okxkc.kucoin import AsyncWebsocketAPIClient
from okxkc.testing.kucoin import KucoinSimulator


async def main(n: int = 100) -> None:
    async with (
        KucoinSimulator() as sim,
        AsyncWebsocketAPIClient(
            api_key="okxkc-test-key",
            api_secret="okxkc-test-secret",
            api_passphrase="okxkc-test-pass",
            base_ws_url=sim.ws_url,
            attach_event_listeners=False,
        ) as client,
    ):
        await client.connect_ws_api(["spot"])
        t0 = time.perf_counter()
        placed = await asyncio.gather(
            *(
                client.submit_new_spot_order(
                    symbol="BTC-USDT",
                    side="buy",
                    type="limit",
                    price=str(20000 + i),
                    size="0.001",
                    clientOid=f"bot-{i}",
                )
                for i in range(n)
            )
        )
        t1 = time.perf_counter()
        await asyncio.gather(
            *(client.cancel_spot_order(symbol="BTC-USDT", orderId=p.data.orderId) for p in placed)
        )
        t2 = time.perf_counter()
        print(
            f"placed {len(placed)} orders in {(t1 - t0) * 1000:.1f} ms, cancelled them in {(t2 - t1) * 1000:.1f} ms"
        )
        print("quota left:", placed[-1].rate_limit.remaining if placed[-1].rate_limit else "n/a")


if __name__ == "__main__":
    asyncio.run(main())

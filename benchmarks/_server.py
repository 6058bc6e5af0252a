"""The benchmark server: okxkc's simulated OKX and KuCoin exchanges in ONE process.

    python benchmarks/_server.py READY_FILE

Both simulators run on one event loop (uvloop when installed, so the server adds
as little as it can to every round trip), on loopback, on free ports, in fast
mode: no request log and no rate limits (the same as ``python -m okxkc sim
--fast``). Orders of the benchmark are IOC, so they fill on arrival and the
simulator's books stay bounded however many are sent.

When both listen, a JSON object is written to READY_FILE: the two ports, the
BTC-USDT ``instIdCode`` and its instrument row (ccxt builds its markets from it,
so it needs no REST). The server stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path


async def _serve(ready_file: Path) -> None:
    from okxkc.testing.kucoin import KucoinSimulator
    from okxkc.testing.okx import OkxSimulator

    okx = OkxSimulator(host="127.0.0.1", record=False, rate_limits=False)
    kucoin = KucoinSimulator(host="127.0.0.1", record=False, rate_limits=False)
    await okx.start()
    await kucoin.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    row = next(r for r in okx.instrument_rows() if r["instId"] == "BTC-USDT")
    info = {
        "okx_port": okx.port,
        "kucoin_port": kucoin.port,
        "inst_id_code": okx.inst_id_code("BTC-USDT"),
        "instrument": row,
        "loop": type(loop).__module__.split(".")[0],
        "pid": os.getpid(),
    }
    tmp = ready_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(info))
    tmp.replace(ready_file)
    try:
        await stop.wait()
    finally:
        await okx.stop()
        await kucoin.stop()


def main() -> None:
    ready_file = Path(sys.argv[1])
    try:
        import uvloop
    except ImportError:
        asyncio.run(_serve(ready_file))
    else:
        uvloop.run(_serve(ready_file))


if __name__ == "__main__":
    main()

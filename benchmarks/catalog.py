"""The benchmark's clients: names, labels, which process runs them, and their floors.

Shared by the runner (what to start), the targets and the report (how to label and
compare). Stdlib only.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


class Client(NamedTuple):
    label: str
    exchange: str  # "okx" | "kucoin"
    kind: str  # "async" | "sync": how the workload drives it (coroutines or threads)
    runner: str  # "py" (benchmarks/clients.py in this environment) or a peer name (peers.py)


CLIENTS: dict[str, Client] = {
    "floor-asyncio": Client(
        "floor (1): bare aiohttp+msgspec, own loop (asyncio)", "okx", "async", "py"
    ),
    "floor-uvloop": Client(
        "floor (1): bare aiohttp+msgspec, own loop (uvloop)", "okx", "async", "py"
    ),
    "floor-thread-sync": Client(
        "floor (2): bare on a loop thread, run_coroutine_threadsafe().result()", "okx", "sync", "py"
    ),
    "floor-thread-async": Client(
        "floor (2b): bare on a loop thread, wrap_future from the caller's loop",
        "okx",
        "async",
        "py",
    ),
    "okxkc-sync": Client("okxkc blocking facade", "okx", "sync", "py"),
    "okxkc-async": Client("okxkc awaitable facade (caller's own loop)", "okx", "async", "py"),
    "okxkc-engine": Client("okxkc engine-loop mode (okxkc.run)", "okx", "async", "py"),
    "ccxt-asyncio": Client("ccxt.pro okx create_order_ws (asyncio)", "okx", "async", "ccxt"),
    "ccxt-uvloop": Client("ccxt.pro okx create_order_ws (uvloop)", "okx", "async", "ccxt"),
    "node": Client("Node okx-api WebsocketAPIClient.submitNewOrder", "okx", "async", "node"),
    "kucoin-floor-uvloop": Client(
        "KuCoin floor (1): bare, own loop (uvloop)", "kucoin", "async", "py"
    ),
    "kucoin-floor-thread-sync": Client(
        "KuCoin floor (2): bare on a loop thread, blocking", "kucoin", "sync", "py"
    ),
    "kucoin-floor-thread-async": Client(
        "KuCoin floor (2b): bare on a loop thread, wrap_future", "kucoin", "async", "py"
    ),
    "kucoin-okxkc-sync": Client("okxkc KuCoin blocking facade", "kucoin", "sync", "py"),
    "kucoin-okxkc-async": Client(
        "okxkc KuCoin awaitable facade (caller's own loop)", "kucoin", "async", "py"
    ),
    "kucoin-okxkc-engine": Client(
        "okxkc KuCoin engine-loop mode (okxkc.run)", "kucoin", "async", "py"
    ),
    "kucoin-sdk": Client(
        "kucoin-universal-sdk UtaPrivateTradeWS.place_order (uta.order)",
        "kucoin",
        "sync",
        "kucoin-sdk",
    ),
}

# Each okxkc client's own floor: the least its design (where the caller runs, how the
# call crosses to the socket) can cost with a bare client.
FLOOR_OF = {
    "okxkc-sync": "floor-thread-sync",
    "okxkc-async": "floor-thread-async",
    "okxkc-engine": "floor-uvloop",
    "kucoin-okxkc-sync": "kucoin-floor-thread-sync",
    "kucoin-okxkc-async": "kucoin-floor-thread-async",
    "kucoin-okxkc-engine": "kucoin-floor-uvloop",
}
RAW_FLOOR = {"okx": "floor-uvloop", "kucoin": "kucoin-floor-uvloop"}
OKXKC_MODES = {"sync": "blocking", "async": "awaitable", "engine": "engine-loop"}

# The KuCoin order okxkc and the bare KuCoin floors send, by ``--kucoin-op``: the wire
# op and okxkc's method for it. The official SDK always sends ``uta.order``.
KUCOIN_OPS = {
    "spot": ("spot.order", "submit_new_spot_order"),
    "uta": ("uta.order", "submit_uta_order"),
}


def order_text(kucoin_op: str) -> str:
    return (
        "OKX op order: IOC buy 0.01 BTC-USDT @ 20000 by instIdCode; KuCoin "
        f"{KUCOIN_OPS[kucoin_op][0]} (okxkc, floors; the official SDK sends uta.order): "
        "IOC limit buy 0.01 BTC-USDT @ 20000"
    )

"""The main job: both facades place, amend and cancel orders on both simulated
exchanges, one expected failure each, and a table of results with round trips."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from .errors import ExchangeError, OkxkcError, PartialFailureError
from .kucoin import AsyncWebsocketAPIClient as AsyncKucoin
from .kucoin import WebsocketAPIClient as Kucoin
from .okx import AsyncWebsocketAPIClient as AsyncOkx
from .okx import WebsocketAPIClient as Okx
from .testing.kucoin import KucoinSimulator
from .testing.okx import OkxSimulator

OKX_ACCOUNT = {
    "apiKey": "okxkc-test-key",
    "apiSecret": "okxkc-test-secret",
    "apiPass": "okxkc-test-pass",
}
KC_KEYS = dict(
    api_key="okxkc-test-key", api_secret="okxkc-test-secret", api_passphrase="okxkc-test-pass"
)
BTC = dict(instId="BTC-USDT", tdMode="cash", side="buy", ordType="limit", sz="0.01")
SPOT = dict(symbol="BTC-USDT", side="buy", type="limit", price="20000", size="0.001")
FUT = dict(symbol="XBTUSDTM", side="buy", type="limit", price="30000", size=1, leverage=5)

Row = tuple[str, str, str, str, float, bool]


def _summary(res: Any) -> str:
    data = res.data
    if isinstance(data, list):
        if data and hasattr(data[0], "ordId"):
            return data[0].ordId if len(data) == 1 else f"{len(data)} ok"
        if data and hasattr(data[0], "result"):
            return f"result={data[0].result}"
        return f"{len(data)} ok"
    for name in ("orderId", "newOrderId", "clientOid", "status"):
        value = getattr(data, name, None)
        if value:
            return f"{name}={value}"
    ids = getattr(data, "cancelledOrderIds", None)
    return f"cancelled {ids}" if ids else "ok"


def _okx_steps(c: Any, tag: str) -> list[tuple[str, Callable[[], Any], type[Exception] | None]]:
    a, b = f"{tag}a", f"{tag}b"
    batch = [dict(BTC, px=str(20000 + i), clOrdId=f"{tag}n{i}") for i in range(3)]
    return [
        ("submit_new_order", lambda: c.submit_new_order(**BTC, px="20000", clOrdId=a), None),
        ("amend_order", lambda: c.amend_order(instId="BTC-USDT", clOrdId=a, newPx="20005"), None),
        ("cancel_order", lambda: c.cancel_order(instId="BTC-USDT", clOrdId=a), None),
        ("submit_multiple_orders", lambda: c.submit_multiple_orders(batch), None),
        (
            "amend_multiple_orders",
            lambda: c.amend_multiple_orders(
                [{"instId": "BTC-USDT", "clOrdId": o["clOrdId"], "newSz": "0.02"} for o in batch]
            ),
            None,
        ),
        (
            "cancel_multiple_orders",
            lambda: c.cancel_multiple_orders(
                [{"instId": "BTC-USDT", "clOrdId": o["clOrdId"]} for o in batch]
            ),
            None,
        ),
        (
            "submit_spread_order",
            lambda: c.submit_spread_order(
                sprdId="BTC-USDT_BTC-USDT-SWAP",
                clOrdId=b,
                side="buy",
                ordType="limit",
                sz="1",
                px="5",
            ),
            None,
        ),
        ("amend_spread_order", lambda: c.amend_spread_order(clOrdId=b, newPx="6"), None),
        ("cancel_spread_order", lambda: c.cancel_spread_order(clOrdId=b), None),
        ("mass_cancel_spread_orders", lambda: c.mass_cancel_spread_orders(), None),
        (
            "mass_cancel_orders",
            lambda: c.mass_cancel_orders(instType="OPTION", instFamily="BTC-USD"),
            None,
        ),
        (
            "cancel_order (already gone)",
            lambda: c.cancel_order(instId="BTC-USDT", clOrdId=a),
            ExchangeError,
        ),
    ]


def _kucoin_steps(c: Any, tag: str) -> list[tuple[str, Callable[[], Any], type[Exception] | None]]:
    s, f = f"{tag}-s", f"{tag}-f"
    return [
        ("submit_new_spot_order", lambda: c.submit_new_spot_order(**SPOT, clientOid=s), None),
        (
            "modify_spot_order",
            lambda: c.modify_spot_order(symbol="BTC-USDT", clientOid=s, newPrice="20010"),
            None,
        ),
        ("cancel_spot_order", lambda: c.cancel_spot_order(symbol="BTC-USDT", clientOid=s), None),
        (
            "submit_sync_spot_order",
            lambda: c.submit_sync_spot_order(**SPOT, clientOid=s + "y"),
            None,
        ),
        (
            "cancel_sync_spot_order",
            lambda: c.cancel_sync_spot_order(symbol="BTC-USDT", clientOid=s + "y"),
            None,
        ),
        ("submit_margin_order", lambda: c.submit_margin_order(**SPOT, clientOid=s + "m"), None),
        (
            "cancel_margin_order",
            lambda: c.cancel_margin_order(symbol="BTC-USDT", clientOid=s + "m"),
            None,
        ),
        ("submit_futures_order", lambda: c.submit_futures_order(**FUT, clientOid=f), None),
        (
            "cancel_futures_order",
            lambda: c.cancel_futures_order(symbol="XBTUSDTM", clientOid=f),
            None,
        ),
        (
            "submit_multiple_futures_orders",
            lambda: c.submit_multiple_futures_orders(
                [dict(FUT, clientOid=f + "1"), dict(FUT, clientOid=f + "2")]
            ),
            None,
        ),
        (
            "cancel_multiple_futures_orders",
            lambda: c.cancel_multiple_futures_orders(
                clientOidsList=[
                    {"symbol": "XBTUSDTM", "clientOid": f + "1"},
                    {"symbol": "XBTUSDTM", "clientOid": f + "2"},
                ]
            ),
            None,
        ),
        (
            "cancel_spot_order (already gone)",
            lambda: c.cancel_spot_order(symbol="BTC-USDT", clientOid=s),
            ExchangeError,
        ),
    ]


def _outcome(
    name: str, exc: BaseException | None, res: Any, expected: type[Exception] | None
) -> tuple[str, bool]:
    if exc is None:
        return _summary(res), expected is None
    code = getattr(exc, "code", "")
    text = f"{type(exc).__name__} [{code}]" if code else type(exc).__name__
    if isinstance(exc, PartialFailureError):
        text += f" {len(exc.failed)}/{len(exc.items)} refused"
    return text, expected is not None and isinstance(exc, expected)


def _run_sync(exchange: str, client: Any, steps: Any) -> list[Row]:
    rows: list[Row] = []
    client.connect_ws_api()
    for name, call, expected in steps:
        t0 = time.perf_counter()
        exc: BaseException | None = None
        res = None
        try:
            res = call()
        except OkxkcError as e:
            exc = e
        ms = (time.perf_counter() - t0) * 1000
        text, ok = _outcome(name, exc, res, expected)
        rows.append((exchange, "sync", name, text, ms, ok))
    client.close()
    return rows


async def _run_async(exchange: str, client: Any, steps: Any) -> list[Row]:
    rows: list[Row] = []
    await client.connect_ws_api()
    for name, call, expected in steps:
        t0 = time.perf_counter()
        exc: BaseException | None = None
        res = None
        try:
            aw: Awaitable[Any] = call()
            res = await aw
        except OkxkcError as e:
            exc = e
        ms = (time.perf_counter() - t0) * 1000
        text, ok = _outcome(name, exc, res, expected)
        rows.append((exchange, "async", name, text, ms, ok))
    await client.close()
    return rows


def _print(rows: list[Row]) -> None:
    header = ("exchange", "facade", "operation", "result", "round trip")
    body = [(e, f, o, r, f"{ms:.2f} ms", ok) for e, f, o, r, ms, ok in rows]
    widths = [max(len(header[i]), *(len(str(row[i])) for row in body)) for i in range(5)]
    line = "  ".join(h.ljust(widths[i]) for i, h in enumerate(header))
    print(line)
    print("-" * len(line))
    for row in body:
        mark = "" if row[5] else "   <-- UNEXPECTED"
        print("  ".join(str(row[i]).ljust(widths[i]) for i in range(5)) + mark)


def run() -> int:
    """Run the demo; 0 when every step ended as expected."""
    tag = uuid.uuid4().hex[:8]
    rows: list[Row] = []
    with OkxSimulator() as okx_sim, KucoinSimulator() as kc_sim:
        okx_opts: dict[str, Any] = dict(
            accounts=[OKX_ACCOUNT],
            base_ws_url=okx_sim.ws_url,
            base_rest_url=okx_sim.url,
            attach_event_listeners=False,
        )
        kc_opts: dict[str, Any] = dict(
            KC_KEYS, base_ws_url=kc_sim.ws_url, attach_event_listeners=False
        )
        okx_client = Okx(**okx_opts)
        rows += _run_sync("OKX", okx_client, _okx_steps(okx_client, f"s{tag}"))
        kc_client = Kucoin(**kc_opts)
        rows += _run_sync("KuCoin", kc_client, _kucoin_steps(kc_client, f"s{tag}"))
        rows += asyncio.run(_async_all(tag, okx_opts, kc_opts))
    print("okxkc demo: OKX and KuCoin simulators on loopback; sockets opened with connect_ws_api()")
    print("before timing, so round trips exclude connect and login.\n")
    rows.sort(key=lambda r: (r[0] != "OKX", r[1] != "sync"))
    _print(rows)
    failures = sum(1 for r in rows if r[5] and "Error" in r[3])
    bad = [r for r in rows if not r[5]]
    print(
        f"\n{len(rows)} calls, {len(rows) - failures - len(bad)} ok, {failures} expected failures, {len(bad)} unexpected"
    )
    return 0 if not bad else 1


async def _async_all(tag: str, okx_opts: dict[str, Any], kc_opts: dict[str, Any]) -> list[Row]:
    okx_client = AsyncOkx(**okx_opts)
    rows = await _run_async("OKX", okx_client, _okx_steps(okx_client, f"a{tag}"))
    kc_client = AsyncKucoin(**kc_opts)
    rows += await _run_async("KuCoin", kc_client, _kucoin_steps(kc_client, f"a{tag}"))
    return rows

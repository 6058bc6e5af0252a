"""``python -m okxkc demo``: both exchanges, both facades, against the embedded simulators.

Each exchange has one scenario, written once as a generator of :class:`Call` steps
that receives each step's reply; a blocking driver runs it through the
``WebsocketAPIClient`` and an awaitable driver (under ``asyncio.run``) through the
``AsyncWebsocketAPIClient``. Every call is timed and printed as one row of a table.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from . import kucoin, okx
from ._ops import Operation
from ._version import __version__
from .errors import ExchangeError, OkxkcError
from .kucoin.operations import OPERATIONS as KUCOIN_OPERATIONS
from .okx.operations import OPERATIONS as OKX_OPERATIONS
from .testing.kucoin import KucoinSimulator
from .testing.okx import OkxSimulator

__all__ = ["main"]

API_KEY = "okxkc-test-key"
API_SECRET = "okxkc-test-secret"
API_PASSPHRASE = "okxkc-test-pass"

SPREAD = "BTC-USDT_BTC-USDT-SWAP"


# -- scenario steps and their outcomes ------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One step: a client method with its arguments, and the error it should raise if any."""

    method: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    expect: tuple[type[OkxkcError], str] | None = None  # (error type, code)

    def expecting(self, error: type[OkxkcError], code: str) -> Call:
        """This call, planned to fail with ``error`` and exchange code ``code``."""
        return replace(self, expect=(error, code))


def call(method: str, *args: Any, **kwargs: Any) -> Call:
    return Call(method, args, kwargs)


#: A scenario yields calls and is sent each call's reply (``None`` after an error).
Scenario = Generator[Call, Any, None]


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    exchange: str
    facade: str
    operation: str
    result: str
    ms: float
    ok: bool  # went as planned: a reply, or the expected error
    expected_failure: bool


class Ids:
    """Client order ids unique to this run: OKX ``clOrdId`` (alphanumeric, at most 32)
    and KuCoin ``clientOid``."""

    def __init__(self) -> None:
        self.run = uuid.uuid4().hex[:12]
        self._n = itertools.count(1)

    def okx(self) -> str:
        return f"demo{self.run}n{next(self._n)}"

    def kucoin(self) -> str:
        return f"demo-{self.run}-{next(self._n)}"


# -- the scenarios: written once, run through both facades ------------------------------


def okx_scenario(ids: Ids) -> Scenario:
    order = {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit"}
    cl_ord_id = ids.okx()
    placed = yield call("submit_new_order", **order, px="20000", sz="0.01", clOrdId=cl_ord_id)
    ord_id = placed.data[0].ordId
    yield call(
        "submit_new_order",
        **order,
        px="20000",
        sz="0.01",
        clOrdId=cl_ord_id,
    ).expecting(ExchangeError, "51016")
    yield call("amend_order", instId="BTC-USDT", ordId=ord_id, newPx="20100")
    yield call("cancel_order", instId="BTC-USDT", ordId=ord_id)

    batch = [{**order, "px": str(19000 + i), "sz": "0.01", "clOrdId": ids.okx()} for i in range(3)]
    placed = yield call("submit_multiple_orders", batch)
    ord_ids = [ack.ordId for ack in placed.data]
    yield call(
        "amend_multiple_orders",
        [{"instId": "BTC-USDT", "ordId": o, "newSz": "0.02"} for o in ord_ids],
    )
    yield call("cancel_multiple_orders", [{"instId": "BTC-USDT", "ordId": o} for o in ord_ids])

    spread = yield call(
        "submit_spread_order",
        sprdId=SPREAD,
        side="buy",
        ordType="limit",
        px="10",
        sz="1",
        clOrdId=ids.okx(),
    )
    sprd_ord_id = spread.data[0].ordId
    yield call("amend_spread_order", ordId=sprd_ord_id, newPx="11")
    yield call("cancel_spread_order", ordId=sprd_ord_id)
    yield call("mass_cancel_spread_orders", sprdId=SPREAD)


def kucoin_scenario(ids: Ids) -> Scenario:
    spot = {"symbol": "BTC-USDT", "side": "buy", "type": "limit", "price": "20000"}
    client_oid = ids.kucoin()
    placed = yield call("submit_new_spot_order", **spot, size="0.001", clientOid=client_oid)
    yield call(
        "submit_new_spot_order",
        **spot,
        size="0.001",
        clientOid=client_oid,
    ).expecting(ExchangeError, "400100")
    modified = yield call(
        "modify_spot_order", symbol="BTC-USDT", orderId=placed.data.orderId, newPrice="20100"
    )
    yield call("cancel_spot_order", symbol="BTC-USDT", orderId=modified.data.newOrderId)

    synced = yield call("submit_sync_spot_order", **spot, size="0.001", clientOid=ids.kucoin())
    yield call("cancel_sync_spot_order", symbol="BTC-USDT", orderId=synced.data.orderId)

    margin = yield call("submit_margin_order", **spot, size="0.001", clientOid=ids.kucoin())
    yield call("cancel_margin_order", symbol="BTC-USDT", orderId=margin.data.orderId)

    futures = {"symbol": "XBTUSDTM", "side": "buy", "type": "limit", "price": "20000"}
    placed = yield call("submit_futures_order", **futures, size=1, clientOid=ids.kucoin())
    yield call("cancel_futures_order", orderId=placed.data.orderId)
    batch = [{**futures, "size": 1, "clientOid": ids.kucoin()} for _ in range(2)]
    placed = yield call("submit_multiple_futures_orders", batch)
    yield call("cancel_multiple_futures_orders", orderIdsList=[i.orderId for i in placed.data])

    uta = {"tradeType": "SPOT", "symbol": "BTC-USDT", "side": "BUY", "orderType": "LIMIT"}
    placed = yield call("submit_uta_order", **uta, size="0.001", price="20000")
    yield call("amend_uta_order", symbol="BTC-USDT", orderId=placed.data.orderId, newPrice="20100")
    yield call(
        "cancel_uta_order", tradeType="SPOT", symbol="BTC-USDT", clientOid=placed.data.clientOid
    )


# -- exchanges --------------------------------------------------------------------------


@dataclass(frozen=True)
class Exchange:
    """What the drivers need to know about one exchange."""

    name: str
    sync_client: Callable[..., Any]
    async_client: Callable[..., Any]
    options: Mapping[str, Any]
    operations: Mapping[str, Operation]
    scenario: Callable[[Ids], Scenario]


def okx_exchange(sim: OkxSimulator) -> Exchange:
    account = {"apiKey": API_KEY, "apiSecret": API_SECRET, "apiPass": API_PASSPHRASE}
    return Exchange(
        "okx",
        okx.WebsocketAPIClient,
        okx.AsyncWebsocketAPIClient,
        {
            "accounts": [account],
            "base_ws_url": sim.ws_url,
            "base_rest_url": sim.url,
            "attach_event_listeners": False,
        },
        {op.method: op for op in OKX_OPERATIONS},
        okx_scenario,
    )


def kucoin_exchange(sim: KucoinSimulator) -> Exchange:
    return Exchange(
        "kucoin",
        kucoin.WebsocketAPIClient,
        kucoin.AsyncWebsocketAPIClient,
        {
            "api_key": API_KEY,
            "api_secret": API_SECRET,
            "api_passphrase": API_PASSPHRASE,
            "base_ws_url": sim.ws_url,
            "base_rest_url": sim.url,
            "attach_event_listeners": False,
        },
        {op.method: op for op in KUCOIN_OPERATIONS},
        kucoin_scenario,
    )


# -- judging one call -------------------------------------------------------------------


def describe(reply: Any, op: Operation) -> str:
    """A short account of a reply: the order id, or how many items were accepted."""
    data = reply.data
    if op.batch or op.result_is_list:
        items = list(data)
        return f"{sum(1 for i in items if i.ok)} ok"
    item = data[0] if isinstance(data, list) else data
    for name in ("ordId", "newOrderId", "orderId"):
        value = getattr(item, name, None)
        if value:
            status = getattr(item, "status", None)
            return f"{value} ({status})" if status else str(value)
    cancelled = getattr(item, "cancelledOrderIds", None)
    if cancelled:
        return ", ".join(cancelled)
    result = getattr(item, "result", None)
    return f"result={result}" if result is not None else "ok"


def describe_error(exc: OkxkcError) -> str:
    code = getattr(exc, "code", None)
    text = getattr(exc, "msg", None) or str(exc)
    return f"{type(exc).__name__} {code}: {text}" if code else f"{type(exc).__name__}: {text}"


def judge(ex: Exchange, facade: str, step: Call, outcome: Any, seconds: float) -> Row:
    """The table row of one call, from its reply or the error it raised."""
    expected = step.expect
    if isinstance(outcome, OkxkcError):
        as_expected = (
            expected is not None
            and type(outcome) is expected[0]
            and getattr(outcome, "code", None) == expected[1]
        )
        result = describe_error(outcome) + (" (expected)" if as_expected else "  << UNEXPECTED")
        ok = as_expected
    elif expected is not None:
        result = f"succeeded, expected {expected[0].__name__} {expected[1]}  << UNEXPECTED"
        ok = False
    else:
        result = describe(outcome, ex.operations[step.method])
        ok = True
    return Row(ex.name, facade, step.method, result, seconds * 1000, ok, expected is not None)


# -- the two drivers ----------------------------------------------------------------------


def drive_sync(ex: Exchange, client: Any, scenario: Scenario) -> list[Row]:
    """Run a scenario through a blocking client; stop at the first unplanned outcome."""
    rows: list[Row] = []
    step = advance(scenario, None)
    while step is not None:
        method = getattr(client, step.method)
        start = time.perf_counter()
        try:
            outcome: Any = method(*step.args, **step.kwargs)
        except OkxkcError as exc:
            outcome = exc
        rows.append(judge(ex, "sync", step, outcome, time.perf_counter() - start))
        step = advance(scenario, outcome) if rows[-1].ok else None
    scenario.close()
    return rows


async def drive_async(ex: Exchange, client: Any, scenario: Scenario) -> list[Row]:
    """Run a scenario through an awaitable client; stop at the first unplanned outcome."""
    rows: list[Row] = []
    step = advance(scenario, None)
    while step is not None:
        method = getattr(client, step.method)
        start = time.perf_counter()
        try:
            outcome: Any = await method(*step.args, **step.kwargs)
        except OkxkcError as exc:
            outcome = exc
        rows.append(judge(ex, "async", step, outcome, time.perf_counter() - start))
        step = advance(scenario, outcome) if rows[-1].ok else None
    scenario.close()
    return rows


def advance(scenario: Scenario, outcome: Any) -> Call | None:
    """The scenario's next call, sent the last reply (``None`` after an error)."""
    try:
        return scenario.send(None if isinstance(outcome, OkxkcError) else outcome)
    except StopIteration:
        return None


def run_sync(ex: Exchange, ids: Ids) -> list[Row]:
    with ex.sync_client(**ex.options) as client:
        try:
            client.connect_ws_api()  # warm-up, not timed: the first order pays no connect time
        except OkxkcError as exc:
            return [connect_failed(ex, "sync", exc)]
        return drive_sync(ex, client, ex.scenario(ids))


async def run_async(ex: Exchange, ids: Ids) -> list[Row]:
    async with ex.async_client(**ex.options) as client:
        try:
            await client.connect_ws_api()  # warm-up, not timed
        except OkxkcError as exc:
            return [connect_failed(ex, "async", exc)]
        return await drive_async(ex, client, ex.scenario(ids))


def connect_failed(ex: Exchange, facade: str, exc: OkxkcError) -> Row:
    result = describe_error(exc) + "  << UNEXPECTED"
    return Row(ex.name, facade, "connect_ws_api", result, 0.0, False, False)


# -- output ---------------------------------------------------------------------------------

HEADER = ("exchange", "facade", "operation", "result", "round trip")


def render_table(rows: Sequence[Row]) -> list[str]:
    cells = [(r.exchange, r.facade, r.operation, r.result, f"{r.ms:.2f} ms") for r in rows]
    widths = [max(len(c[i]) for c in [HEADER, *cells]) for i in range(len(HEADER))]

    def line(c: Sequence[str]) -> str:
        left = "  ".join(text.ljust(w) for text, w in zip(c[:-1], widths[:-1], strict=True))
        return f"{left}  {c[-1].rjust(widths[-1])}"

    return [line(HEADER), line(["-" * w for w in widths]), *(line(c) for c in cells)]


def summary(rows: Sequence[Row]) -> str:
    ok = sum(1 for r in rows if r.ok and not r.expected_failure)
    failures = sum(1 for r in rows if r.ok and r.expected_failure)
    wrong = sum(1 for r in rows if not r.ok)
    text = f"{len(rows)} calls, {ok} ok, {failures} expected failures"
    return text + (f", {wrong} UNEXPECTED: demo failed" if wrong else "")


def intro(okx_sim: OkxSimulator, kucoin_sim: KucoinSimulator) -> str:
    return "\n".join(
        [
            f"okxkc {__version__} demo: simulated OKX at {okx_sim.url}, "
            f"simulated KuCoin at {kucoin_sim.url}",
            "Each client runs connect_ws_api() first (not timed), so no row includes connect "
            "and login.",
            "Round trip: time.perf_counter() around the call. The first OKX order of each "
            "client also",
            "fetches the instrument list once, to send instIdCode for instId.",
            "",
        ]
    )


def main() -> int:
    ids = Ids()
    rows: list[Row] = []
    with OkxSimulator() as okx_sim, KucoinSimulator() as kucoin_sim:
        print(intro(okx_sim, kucoin_sim), flush=True)
        for ex in (okx_exchange(okx_sim), kucoin_exchange(kucoin_sim)):
            rows += run_sync(ex, ids)
            rows += asyncio.run(run_async(ex, ids))
    print("\n".join(render_table(rows)))
    print()
    print(summary(rows))
    return 0 if rows and all(r.ok for r in rows) else 1

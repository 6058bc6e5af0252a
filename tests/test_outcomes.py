"""Definite outcomes: a lost reply is settled by a REST lookup, through both facades on
both exchanges, against the simulators' signed REST order lookups and their faults
(reply swallowed, socket dropped after / before execution, REST down or refusing).

Before okxkc looked lost replies up, every case here ended in ConnectionLostError or
RequestTimeoutError(sent=True) ("outcome unknown"), and nothing said which request.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import pytest

from okxkc.errors import ConnectionLostError, NotExecutedError, RequestTimeoutError
from okxkc.testing.kucoin import KucoinSimulator
from okxkc.testing.okx import OkxSimulator

from .conftest import Facade, make_kucoin, make_okx

ORDER = dict(instId="BTC-USDT", tdMode="cash", side="buy", ordType="limit", px="20000", sz="0.01")
SPOT = dict(symbol="BTC-USDT", side="buy", type="limit", price="20000", size="0.001")
FUT = dict(symbol="XBTUSDTM", side="buy", type="limit", price="30000", size=1, leverage=5)
SPREAD = dict(sprdId="BTC-USDT_BTC-USDT-SWAP", side="buy", ordType="limit", px="10", sz="1")

TIMEOUT = 0.6
SETTLE = 0.3
GRACE = 2.0
# A call ends by its timeout plus the grace; this is for thread hops on a busy machine.
SLACK = 1.0
CLIENT_ID = re.compile(r"[A-Za-z0-9]{1,32}")


class Venue:
    """One exchange's simulator, a client through one facade, and how to trade on it."""

    def __init__(self, exchange: str, kind: str, sim: Any, **client_kw: Any) -> None:
        self.exchange = exchange
        self.sim = sim
        opts: dict[str, Any] = dict(
            request_timeout=TIMEOUT,
            settle_time=SETTLE,
            resolve_grace=GRACE,
            reconnect_timeout=0.02,
            reconnect_max=0.1,
        )
        opts.update(client_kw)
        make = make_okx if exchange == "okx" else make_kucoin
        self.c: Facade = make(kind, sim, **opts)
        self.resolved: list[dict[str, Any]] = []
        self.late: list[dict[str, Any]] = []
        self.c.get_ws_client().on("resolved", self.resolved.append)
        self.c.get_ws_client().on("late_response", self.late.append)
        if exchange == "okx":
            self.place_op, self.cancel_op, self.amend_op = "order", "cancel-order", "amend-order"
            self.id_field = "clOrdId"
        else:
            self.place_op, self.cancel_op = "spot.order", "spot.cancel"
            self.amend_op = "spot.modify"
            self.id_field = "clientOid"

    async def place(self, cid: str | None = None, **kw: Any) -> Any:
        ids = {} if cid is None else {self.id_field: cid}
        if self.exchange == "okx":
            return await self.c.submit_new_order(**ORDER, **ids, **kw)
        return await self.c.submit_new_spot_order(**SPOT, **ids, **kw)

    async def cancel(self, cid: str) -> Any:
        if self.exchange == "okx":
            return await self.c.cancel_order(instId="BTC-USDT", clOrdId=cid)
        return await self.c.cancel_spot_order(symbol="BTC-USDT", clientOid=cid)

    async def amend(self, cid: str, price: str) -> Any:
        if self.exchange == "okx":
            return await self.c.amend_order(instId="BTC-USDT", clOrdId=cid, newPx=price)
        return await self.c.modify_spot_order(symbol="BTC-USDT", clientOid=cid, newPrice=price)

    def order(self, cid: str) -> dict[str, Any] | None:
        if self.exchange == "okx":
            found: dict[str, Any] | None = self.sim.find_order(cl_ord_id=cid)
            return found
        found = self.sim.find_order(client_oid=cid)
        return found

    def state(self, cid: str) -> str:
        o = self.order(cid)
        assert o is not None
        if self.exchange == "okx":
            return str(o["state"])
        if o["status"] == "done" and o["canceledSize"] not in (None, "0"):
            return "canceled"
        return str(o["status"])

    def price(self, cid: str) -> str:
        o = self.order(cid)
        assert o is not None
        return str(o["px"] if self.exchange == "okx" else o["price"])

    def copies(self, cid: str) -> int:
        """How many orders with this client id the exchange holds."""
        return sum(1 for o in self.sim.orders() if o.get(self.id_field) == cid)

    def ok(self, res: Any) -> bool:
        if self.exchange == "okx":
            return all(i.sCode == "0" for i in res.data)
        return bool(res.code == "200000")

    def flush(self) -> None:
        assert self.c.get_ws_client().flush()

    async def close(self) -> None:
        await (self.c.close() if self.c.is_async else asyncio.to_thread(self.c.client.close))


def _sim(exchange: str, **kw: Any) -> Any:
    sim: Any = OkxSimulator(**kw) if exchange == "okx" else KucoinSimulator(**kw)
    sim.start_in_thread()
    return sim


@pytest.fixture(params=["okx", "kucoin"])
def exchange(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def venue(exchange: str, facade_kind: str) -> Any:
    sim = _sim(exchange)
    v = Venue(exchange, facade_kind, sim)
    yield v
    await v.close()
    sim.stop_thread()


async def timed(aw: Any) -> tuple[float, Any]:
    t0 = time.monotonic()
    try:
        res = await aw
    except Exception as exc:
        return time.monotonic() - t0, exc
    return time.monotonic() - t0, res


# -- places ---------------------------------------------------------------------------------
async def test_swallowed_reply_of_a_place_is_found(venue: Venue) -> None:
    venue.sim.faults.swallow_next(op=venue.place_op)
    dt, res = await timed(venue.place("swallow1"))
    assert not isinstance(res, Exception), res
    assert venue.ok(res) and res.resolved_by == "lookup"
    assert res.to_dict()["resolvedBy"] == "lookup"
    if venue.exchange == "okx":
        assert (
            res.data[0].clOrdId == "swallow1"
            and res.data[0].ordId == venue.order("swallow1")["ordId"]
        )
    else:
        assert res.data.clientOid == "swallow1"
        assert res.data.orderId == venue.order("swallow1")["orderId"]
    assert TIMEOUT <= dt <= TIMEOUT + SLACK  # the deadline, then one lookup
    assert venue.copies("swallow1") == 1
    venue.flush()
    (ev,) = venue.resolved
    assert ev["outcome"] == "executed" and ev["request"]["op"] == venue.place_op
    assert ev["error"] == "RequestTimeoutError"
    # an ordinary reply says so too
    plain = await venue.place("plain1")
    assert plain.resolved_by is None and "resolvedBy" not in plain.to_dict()


async def test_late_reply_still_reported_after_a_resolved_timeout(venue: Venue) -> None:
    venue.sim.faults.delay_next(TIMEOUT + 0.4, op=venue.place_op)
    res = await venue.place("late1")
    assert res.resolved_by == "lookup"
    deadline = time.monotonic() + 3
    while not venue.late and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        venue.flush()
    assert venue.late and venue.late[0]["request"]["op"] == venue.place_op


async def test_socket_dropped_after_execution_is_found_at_once(venue: Venue) -> None:
    await venue.place("warm1")
    venue.sim.faults.drop_after_execution(op=venue.place_op)
    dt, res = await timed(venue.place("dropx1"))
    assert not isinstance(res, Exception), res
    assert venue.ok(res) and res.resolved_by == "lookup"
    assert dt < TIMEOUT  # found on the first lookup, no waiting for the deadline
    assert venue.copies("dropx1") == 1


async def test_socket_dropped_before_execution_is_not_executed_then_retry_succeeds(
    venue: Venue,
) -> None:
    await venue.place("warm2")
    venue.sim.faults.drop_next(op=venue.place_op)
    dt, exc = await timed(venue.place("dropb1"))
    assert isinstance(exc, NotExecutedError), exc
    assert exc.sent is True and "safe to retry" in str(exc)
    assert exc.request is not None and exc.request.op == venue.place_op
    assert exc.request.id  # the request id it travelled under
    sent = exc.request.args[0] if venue.exchange == "okx" else exc.request.args
    assert sent[venue.id_field] == "dropb1"
    assert exc.lookup is not None and exc.lookup.verdict == "not_executed"
    assert exc.lookup.items[0].state == "absent"
    # proof needs the expiry to have passed on the exchange's clock: not before the deadline
    assert TIMEOUT <= dt <= TIMEOUT + GRACE + SLACK
    assert venue.order("dropb1") is None
    res = await venue.place("dropb1")  # the same client id is free
    assert venue.ok(res) and venue.copies("dropb1") == 1


async def test_default_expiry_is_on_the_wire_only_with_resolution(
    exchange: str, facade_kind: str
) -> None:
    sim = _sim(exchange)
    try:
        for resolve in (True, False):
            v = Venue(exchange, facade_kind, sim, resolve_unknown=resolve)
            await v.place(f"exp{int(resolve)}")
            await v.close()
        sent = [r for r in sim.received if r.get("op") in ("order", "spot.order")]
        if exchange == "okx":
            with_exp, without = sent[-2], sent[-1]
            now = sim.now_ms()
            assert now <= int(with_exp["expTime"]) <= now + int(TIMEOUT * 1000)
            assert "expTime" not in without
        else:
            with_exp, without = sent[-2]["args"], sent[-1]["args"]
            assert 0 < with_exp["allowMaxTimeWindow"] <= int(TIMEOUT * 1000)
            assert isinstance(with_exp["clientTimestamp"], int)
            assert "allowMaxTimeWindow" not in without
    finally:
        sim.stop_thread()


async def test_order_without_a_client_id_gets_one_and_is_found(venue: Venue) -> None:
    res = await venue.place()
    cid = res.data[0].clOrdId if venue.exchange == "okx" else res.data.clientOid
    assert CLIENT_ID.fullmatch(cid) and venue.copies(cid) == 1
    venue.sim.faults.swallow_next(op=venue.place_op)
    res2 = await venue.place()
    cid2 = res2.data[0].clOrdId if venue.exchange == "okx" else res2.data.clientOid
    assert res2.resolved_by == "lookup" and cid2 != cid and venue.copies(cid2) == 1


# -- cancels ----------------------------------------------------------------------------------
async def test_cancel_swallowed_and_dropped_after_execution_are_found(venue: Venue) -> None:
    for i, fault in enumerate(("swallow_next", "drop_after_execution")):
        cid = f"cx{i}"
        await venue.place(cid)
        getattr(venue.sim.faults, fault)(op=venue.cancel_op)
        res = await venue.cancel(cid)
        assert res.resolved_by == "lookup" and venue.state(cid) in ("canceled", "done")
        if venue.exchange == "okx":
            assert res.data[0].clOrdId == cid and res.data[0].sCode == "0"
        else:
            assert res.data.clientOid == cid


async def test_cancel_dropped_before_execution_is_not_executed_after_settle(
    venue: Venue,
) -> None:
    await venue.place("cb1")
    venue.sim.faults.drop_next(op=venue.cancel_op)
    dt, exc = await timed(venue.cancel("cb1"))
    assert isinstance(exc, NotExecutedError), exc
    assert dt >= SETTLE and "still" in exc.lookup.items[0].detail
    assert venue.state("cb1") in ("live", "open")
    res = await venue.cancel("cb1")  # the retry cancels it
    assert venue.ok(res) and venue.state("cb1") in ("canceled", "done")


async def test_cancel_of_a_filled_order_is_not_executed_at_once(venue: Venue) -> None:
    await venue.place("cf1")
    o = venue.order("cf1")
    assert o is not None
    venue.sim.fill(o["ordId"] if venue.exchange == "okx" else o["orderId"])
    venue.sim.faults.drop_next(op=venue.cancel_op)
    dt, exc = await timed(venue.cancel("cf1"))
    assert isinstance(exc, NotExecutedError), exc
    assert exc.lookup.items[0].state in ("filled", "done") and dt < SETTLE + SLACK


# -- amends ----------------------------------------------------------------------------------
async def test_amend_swallowed_is_found(venue: Venue) -> None:
    await venue.place("am1")
    venue.sim.faults.swallow_next(op=venue.amend_op)
    res = await venue.amend("am1", "19000")
    assert res.resolved_by == "lookup" and float(venue.price("am1")) == 19000
    if venue.exchange == "kucoin":
        assert res.data.newOrderId == venue.order("am1")["orderId"]


async def test_amend_dropped_before_execution(venue: Venue) -> None:
    await venue.place("am2")
    venue.sim.faults.drop_next(op=venue.amend_op)
    dt, exc = await timed(venue.amend("am2", "19000"))
    if venue.exchange == "okx":
        # amend-order carries expTime: past it, an unchanged order is proof
        assert isinstance(exc, NotExecutedError), exc
        assert float(venue.price("am2")) == 20000
    else:
        # spot.modify has no expiry on KuCoin: nothing bounds "not yet"
        assert isinstance(exc, ConnectionLostError) and not isinstance(exc, NotExecutedError)
        assert exc.lookup is not None and exc.lookup.verdict == "unknown"
        assert dt <= TIMEOUT + GRACE + SLACK


# -- batches ---------------------------------------------------------------------------------
async def test_batch_items_are_resolved_each_on_its_own(venue: Venue) -> None:
    if venue.exchange == "okx":
        for cid in ("b1", "b2"):
            await venue.place(cid)
        o = venue.order("b2")
        assert o is not None
        venue.sim.fill(o["ordId"])
        venue.sim.faults.drop_after_execution(op="batch-cancel-orders")
        with pytest.raises(NotExecutedError) as err:
            await venue.c.cancel_multiple_orders(
                [dict(instId="BTC-USDT", clOrdId="b1"), dict(instId="BTC-USDT", clOrdId="b2")]
            )
        first, second = err.value.lookup.items
        assert first.verdict == "executed" and first.result.clOrdId == "b1"
        assert second.verdict == "not_executed" and second.state == "filled"
        # a batch place whose reply is swallowed comes back whole, item by item
        venue.sim.faults.swallow_next(op="batch-orders")
        res = await venue.c.submit_multiple_orders(
            [dict(ORDER, clOrdId=f"bp{i}") for i in range(3)]
        )
        assert res.resolved_by == "lookup"
        assert [i.clOrdId for i in res.data] == ["bp0", "bp1", "bp2"]
        assert all(venue.copies(f"bp{i}") == 1 for i in range(3))
    else:
        venue.sim.faults.swallow_next(op="futures.multi_order")
        res = await venue.c.submit_multiple_futures_orders(
            [dict(FUT, clientOid=f"fp{i}") for i in range(3)]
        )
        assert res.resolved_by == "lookup"
        assert [i.clientOid for i in res.data] == ["fp0", "fp1", "fp2"]
        assert all(i.ok for i in res.data)
        o = venue.sim.find_order(client_oid="fp1")
        venue.sim.fill(o["orderId"])
        venue.sim.faults.drop_after_execution(op="futures.multi_cancel")
        with pytest.raises(NotExecutedError) as err:
            await venue.c.cancel_multiple_futures_orders(
                clientOidsList=[
                    {"symbol": "XBTUSDTM", "clientOid": "fp0"},
                    {"symbol": "XBTUSDTM", "clientOid": "fp1"},
                ]
            )
        first, second = err.value.lookup.items
        assert first.verdict == "executed" and first.result.clientOid == "fp0"
        assert second.verdict == "not_executed"


async def test_kucoin_futures_place_without_expiry(facade_kind: str) -> None:
    sim = _sim("kucoin")
    v = Venue("kucoin", facade_kind, sim)
    try:
        v.sim.faults.drop_after_execution(op="futures.order")
        res = await v.c.submit_futures_order(**FUT, clientOid="fut1")
        assert res.resolved_by == "lookup" and res.data.clientOid == "fut1"
        v.sim.faults.drop_next(op="futures.order")
        dt, exc = await timed(v.c.submit_futures_order(**FUT, clientOid="fut2"))
        # no allowMaxTimeWindow for futures: not found stays unknown
        assert isinstance(exc, ConnectionLostError) and not isinstance(exc, NotExecutedError)
        assert exc.lookup.verdict == "unknown" and exc.lookup.items[0].state == "absent"
        assert dt <= TIMEOUT + GRACE + SLACK
    finally:
        await v.close()
        sim.stop_thread()


# -- spread orders (OKX) ---------------------------------------------------------------------
async def test_okx_spread_orders(facade_kind: str) -> None:
    sim = _sim("okx")
    v = Venue("okx", facade_kind, sim)
    try:
        sim.faults.swallow_next(op="sprd-order")
        res = await v.c.submit_spread_order(**SPREAD, clOrdId="sp1")
        assert res.resolved_by == "lookup" and res.data[0].clOrdId == "sp1"
        assert res.data[0].ordId == sim.find_order(cl_ord_id="sp1")["ordId"]
        sim.faults.drop_after_execution(op="sprd-cancel-order")
        res = await v.c.cancel_spread_order(clOrdId="sp1")
        assert res.resolved_by == "lookup" and sim.find_order(cl_ord_id="sp1")["state"] == (
            "canceled"
        )
        # without a generated id a spread order is still found
        sim.faults.swallow_next(op="sprd-order")
        res = await v.c.submit_spread_order(**SPREAD)
        assert res.resolved_by == "lookup" and CLIENT_ID.fullmatch(res.data[0].clOrdId)
        # sprd-order carries no expiry: a drop before execution stays unknown
        sim.faults.drop_next(op="sprd-order")
        _, exc = await timed(v.c.submit_spread_order(**SPREAD, clOrdId="sp2"))
        assert isinstance(exc, ConnectionLostError) and exc.lookup.verdict == "unknown"
    finally:
        await v.close()
        sim.stop_thread()


# -- when the lookup cannot help -------------------------------------------------------------
async def test_rest_down_keeps_the_original_error_with_the_lookup(venue: Venue) -> None:
    await venue.place("rd0")
    if venue.exchange == "okx":
        venue.sim.faults.fail_rest_next(count=1000)
    else:
        venue.sim.rest_available = False
    venue.sim.faults.drop_after_execution(op=venue.place_op)
    dt, exc = await timed(venue.place("rd1"))
    assert type(exc) is ConnectionLostError, exc
    assert exc.lookup is not None and exc.lookup.verdict == "unknown"
    assert exc.lookup.items[0].state == "lookup failed" and exc.lookup.lookups >= 2
    assert exc.request is not None and exc.request.op == venue.place_op
    assert "lookup after" in str(exc)
    assert dt <= TIMEOUT + GRACE + SLACK
    assert venue.copies("rd1") == 1  # it was executed; okxkc says it could not tell


async def test_wrong_rest_credentials_end_the_lookup_at_once(
    exchange: str, facade_kind: str
) -> None:
    # OKX: a demo client on a live simulator logs in on the socket (the host decides),
    # but its REST lookups carry x-simulated-trading and are refused (50101). KuCoin: the
    # simulator accepts only v3 keys on REST.
    if exchange == "okx":
        sim = _sim("okx")
        v = Venue("okx", facade_kind, sim, demo_trading=True)
    else:
        sim = _sim("kucoin", rest_key_versions=("3",))
        v = Venue("kucoin", facade_kind, sim)
    try:
        await v.place("wc0")
        v.sim.faults.drop_after_execution(op=v.place_op)
        dt, exc = await timed(v.place("wc1"))
        assert type(exc) is ConnectionLostError, exc
        item = exc.lookup.items[0]
        assert item.verdict == "unknown" and item.state == "lookup failed"
        assert exc.lookup.lookups == 1  # refused credentials: no point asking again
        assert dt < TIMEOUT
        assert "okxkc-test-secret" not in str(exc) and "okxkc-test-pass" not in str(exc)
    finally:
        await v.close()
        sim.stop_thread()


async def test_resolution_off_is_the_old_behaviour(exchange: str, facade_kind: str) -> None:
    sim = _sim(exchange)
    v = Venue(exchange, facade_kind, sim, resolve_unknown=False)
    try:
        await v.place("off0")
        v.sim.faults.drop_after_execution(op=v.place_op)
        _, exc = await timed(v.place("off1"))
        assert type(exc) is ConnectionLostError and exc.lookup is None
        assert exc.request is not None and exc.request.op == v.place_op  # still says which
        v.sim.faults.swallow_next(op=v.place_op)
        dt, exc = await timed(v.place("off2"))
        assert type(exc) is RequestTimeoutError and exc.sent and exc.lookup is None
        assert TIMEOUT <= dt <= TIMEOUT + SLACK
        lookups = sim.lookups if exchange == "okx" else None
        assert lookups is None or lookups == []
        if exchange == "kucoin":
            assert sim.stats["rest_requests"] == 0
        v.flush()
        assert v.resolved == []
    finally:
        await v.close()
        sim.stop_thread()


async def test_expiry_proof_uses_the_exchange_clock(facade_kind: str) -> None:
    # The exchange's clock runs 20 s ahead; time_sync puts the default expiry on it,
    # and the proof waits for that clock, not ours.
    sim = _sim("okx", clock_offset_ms=20_000)
    v = Venue("okx", facade_kind, sim, time_sync=True)
    try:
        await v.place("clk0")
        sim.faults.drop_next(op="order")
        dt, exc = await timed(v.place("clk1"))
        assert isinstance(exc, NotExecutedError), exc
        (sent,) = [r for r in sim.received if r.get("args", [{}])[0].get("clOrdId") == "clk1"]
        expiry = int(sent["expTime"])
        # on the simulator's clock (20 s ahead of ours), and proven by it
        assert abs(expiry - (sim.now_ms() + 0)) < 20_000
        assert exc.lookup.server_time_ms is not None and exc.lookup.server_time_ms >= expiry
        assert dt <= TIMEOUT + GRACE + SLACK
        assert (await v.place("clk1")).data[0].sCode == "0"
    finally:
        await v.close()
        sim.stop_thread()


async def test_request_queued_after_the_drop_is_found_not_refuted(venue: Venue) -> None:
    # The socket is cut and the request runs 0.2 s later, as one still queued at the
    # exchange. A lookup right after the drop sees nothing: that proves nothing until
    # the expiry; the call ends with the order found, placed once.
    await venue.place("q0")
    venue.sim.faults.drop_then_execute(op=venue.place_op, after=0.2)
    res = await venue.place("q1")
    assert res.resolved_by == "lookup" and venue.copies("q1") == 1
    # queued past its expiry, the exchange refuses it: proven not executed
    venue.sim.faults.drop_then_execute(op=venue.place_op, after=TIMEOUT + 0.3)
    _, exc = await timed(venue.place("q2"))
    assert isinstance(exc, NotExecutedError), exc
    await asyncio.sleep(0.4)  # the queued request has run (and been refused) by now
    assert venue.copies("q2") == 0

"""The fast path of a single-item call (``FacadeBase._one``) and of its reply (the
reader's loop): what it sends and returns is what the general path would, and what the
general path alone does (options, guards, events, errors) still happens.

Most tests elsewhere place OKX orders by ``instId``; these also place them by
``instIdCode``, which goes straight to the connection's request coroutine.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from okxkc.errors import ClientClosedError, RequestTimeoutError, ValidationError
from okxkc.testing.kucoin import KucoinSimulator
from okxkc.testing.okx import OkxSimulator

from .conftest import Facade, make_kucoin, make_okx, wait_for

BY_ID = dict(instId="BTC-USDT", tdMode="cash", side="buy", ordType="limit", px="20000", sz="0.01")
SPOT = dict(symbol="BTC-USDT", side="buy", type="limit", price="20000", size="0.001")
OKX_CLIENT_ID = re.compile(r"[A-Za-z0-9]{1,32}")


def _by_code(sim: OkxSimulator, **kw: Any) -> dict[str, Any]:
    order = {k: v for k, v in BY_ID.items() if k != "instId"}
    return dict(order, instIdCode=sim.inst_id_code("BTC-USDT"), **kw)


def _sent(sim: Any, op: str) -> list[dict[str, Any]]:
    return [r for r in sim.received if r.get("op") == op]


async def _close(c: Facade) -> None:
    if c.is_async:
        await c.client.close()
    else:
        c.client.close()


async def test_okx_orders_by_code_and_by_id_reach_the_wire_alike(
    facade_kind: str, okx_sim: OkxSimulator
) -> None:
    c = make_okx(facade_kind, okx_sim)
    try:
        first = await c.submit_new_order(**BY_ID)  # fetches the instrument list
        by_id = await c.submit_new_order(**BY_ID)  # the code is known: fast path
        by_code = await c.submit_new_order(**_by_code(okx_sim))
        mine = await c.submit_new_order(**_by_code(okx_sim, clOrdId="mine1"))
    finally:
        await _close(c)
    sent = _sent(okx_sim, "order")
    assert len(sent) == 4
    code = okx_sim.inst_id_code("BTC-USDT")
    for frame, res in zip(sent, (first, by_id, by_code, mine), strict=True):
        (item,) = frame["args"]
        # sent by code, with a client id and the default expiry on the exchange's clock
        assert item["instIdCode"] == code and "instId" not in item
        assert OKX_CLIENT_ID.fullmatch(item["clOrdId"])
        assert int(frame["expTime"]) > time.time() * 1000
        assert res.code == "0" and res.data[0].clOrdId == item["clOrdId"]
        assert res.op == "order" and res.ws_key == "private"
    assert sent[-1]["args"][0]["clOrdId"] == "mine1"
    assert len({f["args"][0]["clOrdId"] for f in sent}) == 4


async def test_options_and_misspelt_fields_take_the_general_path(
    facade_kind: str, okx_sim: OkxSimulator
) -> None:
    c = make_okx(facade_kind, okx_sim)
    try:
        await c.submit_new_order(**_by_code(okx_sim))
        res = await c.submit_new_order(**_by_code(okx_sim), timeout=2.0, exp_time=5000)
        assert res.code == "0"
        with pytest.raises(ValidationError) as err:
            await c.submit_new_order(**_by_code(okx_sim), sidee="buy")
        assert err.value.field == "sidee" and "did you mean side?" in str(err.value)
    finally:
        await _close(c)
    sent = _sent(okx_sim, "order")
    assert len(sent) == 2  # the misspelt call sent nothing
    # exp_time=5000 is relative to sending: far sooner than the 5 s default deadline
    assert int(sent[1]["expTime"]) - int(time.time() * 1000) <= 5000


async def test_a_fast_call_after_close_is_refused_and_sends_nothing(
    facade_kind: str, okx_sim: OkxSimulator
) -> None:
    c = make_okx(facade_kind, okx_sim)
    await c.submit_new_order(**_by_code(okx_sim))
    await c.submit_new_order(**_by_code(okx_sim))  # the plan now holds the connection
    await _close(c)
    with pytest.raises(ClientClosedError):
        await c.submit_new_order(**_by_code(okx_sim))
    assert len(_sent(okx_sim, "order")) == 2


async def test_a_fast_call_times_out_by_its_own_deadline(
    facade_kind: str, okx_sim: OkxSimulator
) -> None:
    c = make_okx(facade_kind, okx_sim, request_timeout=0.4, resolve_unknown=False)
    try:
        await c.submit_new_order(**_by_code(okx_sim))
        okx_sim.faults.swallow_next(op="order")
        t0 = time.monotonic()
        with pytest.raises(RequestTimeoutError) as err:
            await c.submit_new_order(**_by_code(okx_sim, clOrdId="late1"))
        elapsed = time.monotonic() - t0
    finally:
        await _close(c)
    assert 0.4 <= elapsed < 1.4
    assert err.value.sent and err.value.request is not None
    assert err.value.request.op == "order" and err.value.request.args[0]["clOrdId"] == "late1"


async def test_a_swallowed_reply_of_a_fast_call_is_found(
    facade_kind: str, okx_sim: OkxSimulator
) -> None:
    c = make_okx(facade_kind, okx_sim, request_timeout=0.5, settle_time=0.3)
    try:
        # By instId first: the client then knows the code's instId, which the REST
        # lookup needs (a client that never saw the instrument list cannot look up an
        # order it placed by code alone).
        await c.submit_new_order(**BY_ID)
        okx_sim.faults.swallow_next(op="order")
        res = await c.submit_new_order(**_by_code(okx_sim, clOrdId="lost1"))
    finally:
        await _close(c)
    assert res.resolved_by == "lookup"
    found = okx_sim.find_order(cl_ord_id="lost1")
    assert found is not None and res.data[0].ordId == found["ordId"]


@pytest.mark.parametrize("exchange", ["okx", "kucoin"])
async def test_response_events_follow_the_listeners(
    exchange: str, facade_kind: str, okx_sim: OkxSimulator, kucoin_sim: KucoinSimulator
) -> None:
    if exchange == "okx":
        c = make_okx(facade_kind, okx_sim)

        async def place() -> Any:
            return await c.submit_new_order(**_by_code(okx_sim))
    else:
        c = make_kucoin(facade_kind, kucoin_sim)

        async def place() -> Any:
            return await c.submit_new_spot_order(**SPOT)

    seen: list[dict[str, Any]] = []
    events = c.get_ws_client()
    try:
        await place()
        assert "response" not in events.listened
        events.on("response", seen.append)
        assert "response" in events.listened
        res = await place()
        await wait_for(lambda: len(seen) == 1)
        events.off("response")
        assert "response" not in events.listened
        await place()
        assert events.flush()
    finally:
        await _close(c)
    assert len(seen) == 1
    assert seen[0]["isWSAPIResponse"] is True and seen[0]["id"] == res.id


async def test_kucoin_window_given_by_the_caller_is_kept(
    facade_kind: str, kucoin_sim: KucoinSimulator
) -> None:
    c = make_kucoin(facade_kind, kucoin_sim)
    try:
        await c.submit_new_spot_order(**SPOT)  # fast: okxkc's own window
        await c.submit_new_spot_order(**SPOT, allowMaxTimeWindow=3000)  # a guard field
    finally:
        await _close(c)
    ours, theirs = (r["args"] for r in _sent(kucoin_sim, "spot.order"))
    assert 0 < ours["allowMaxTimeWindow"] <= 5000 and isinstance(ours["clientTimestamp"], int)
    assert theirs["allowMaxTimeWindow"] == 3000 and isinstance(theirs["clientTimestamp"], int)
    assert ours["clientOid"] != theirs["clientOid"]

"""KuCoin through both facades against the simulated exchange: every op, every error path."""

from __future__ import annotations

import time
from typing import Any

import pytest

from okxkc import kucoin as kc
from okxkc.errors import (
    AuthenticationError,
    ConnectionLostError,
    ExchangeError,
    PartialFailureError,
    RateLimitError,
    RequestTimeoutError,
    ValidationError,
)
from okxkc.kucoin.adapter import sign
from okxkc.testing.kucoin import KucoinSimulator

from .conftest import KC_KEY, Facade, make_kucoin, wait_for

SPOT = dict(symbol="BTC-USDT", side="buy", type="limit", price="20000", size="0.001")
FUT = dict(symbol="XBTUSDTM", side="buy", type="limit", price="30000", size=1, leverage=5)


def sent(sim: KucoinSimulator, op: str) -> list[dict[str, Any]]:
    return [r for r in sim.received if r.get("op") == op]


def test_signature() -> None:
    # base64(HMAC-SHA256(secret, message)); vector from `openssl dgst -sha256 -hmac secret -binary | base64`
    assert sign("secret", "key1700000000000") == "DrFe0Jwm1Rtlw95KLCGUUPWDWSSyZuL+NLsCSbK+Iwk="


async def test_spot_place_modify_cancel(kucoin_client: Facade, kucoin_sim: KucoinSimulator) -> None:
    res = await kucoin_client.submit_new_spot_order(**SPOT, clientOid="c1")
    assert isinstance(res, kc.KucoinResponse)
    assert res.code == "200000" and res.data.orderId and res.data.clientOid == "c1"
    assert res.ws_key == "spot" and res.inTime is not None and res.outTime is not None
    assert res.rate_limit is not None and res.rate_limit.limit == 4000
    mod = await kucoin_client.modify_spot_order(symbol="BTC-USDT", clientOid="c1", newPrice="20100")
    assert mod.data.newOrderId and mod.data.newOrderId != res.data.orderId
    cancel = await kucoin_client.cancel_spot_order(symbol="BTC-USDT", orderId=mod.data.newOrderId)
    assert cancel.data.orderId == mod.data.newOrderId
    assert kucoin_sim.find_order(order_id=mod.data.newOrderId)["status"] == "done"


async def test_sync_spot_ops(kucoin_client: Facade) -> None:
    res = await kucoin_client.submit_sync_spot_order(**SPOT, clientOid="s1")
    assert res.data.status == "open" and res.data.originSize == "0.001"
    cancel = await kucoin_client.cancel_sync_spot_order(symbol="BTC-USDT", clientOid="s1")
    assert cancel.data.status == "done" and cancel.data.canceledSize == "0.001"


async def test_margin_ops(kucoin_client: Facade) -> None:
    res = await kucoin_client.submit_margin_order(
        **SPOT, clientOid="m1", isIsolated=False, autoBorrow=True
    )
    assert res.data.orderId and res.ws_key == "spot"
    cancel = await kucoin_client.cancel_margin_order(symbol="BTC-USDT", clientOid="m1")
    assert cancel.data.clientOid == "m1"


async def test_futures_ops_use_futures_socket(
    kucoin_client: Facade, kucoin_sim: KucoinSimulator
) -> None:
    res = await kucoin_client.submit_futures_order(**FUT, clientOid="f1")
    assert res.ws_key == "futures" and res.data.orderId
    cancel = await kucoin_client.cancel_futures_order(orderId=res.data.orderId)
    assert cancel.data.cancelledOrderIds == [res.data.orderId]
    batch = await kucoin_client.submit_multiple_futures_orders(
        [dict(FUT, clientOid="fb1"), dict(FUT, clientOid="fb2", price="30001")]
    )
    assert [i.clientOid for i in batch.data] == ["fb1", "fb2"]
    assert all(i.ok for i in batch.data)
    assert sent(kucoin_sim, "futures.multi_order")[0]["args"][1]["price"] == "30001"
    mc = await kucoin_client.cancel_multiple_futures_orders(
        clientOidsList=[
            {"symbol": "XBTUSDTM", "clientOid": "fb1"},
            {"symbol": "XBTUSDTM", "clientOid": "fb2"},
        ]
    )
    assert [i.clientOid for i in mc.data] == ["fb1", "fb2"] and all(i.ok for i in mc.data)
    assert kucoin_sim.stats["connections"] == 1
    await kucoin_client.submit_new_spot_order(**SPOT)
    assert kucoin_sim.stats["connections"] == 2  # spot and futures: one socket per ws key


async def test_batch_partial_failure(kucoin_client: Facade) -> None:
    await kucoin_client.submit_futures_order(**FUT, clientOid="dupf")
    with pytest.raises(PartialFailureError) as err:
        await kucoin_client.submit_multiple_futures_orders(
            [dict(FUT, clientOid="okf"), dict(FUT, clientOid="dupf")]
        )
    assert [i.clientOid for i in err.value.items] == ["okf", "dupf"]
    assert len(err.value.failed) == 1 and err.value.failed[0].clientOid == "dupf"


async def test_exchange_error(kucoin_client: Facade) -> None:
    with pytest.raises(ExchangeError) as err:
        await kucoin_client.cancel_spot_order(symbol="BTC-USDT", orderId="ffffffffffffffffffffffff")
    assert err.value.code == "400100" and err.value.op == "spot.cancel"


async def test_send_ws_api_request_raw(kucoin_client: Facade) -> None:
    res = await kucoin_client.send_ws_api_request(
        "spot", "spot.order", dict(SPOT, clientOid="raw1")
    )
    assert res.data["clientOid"] == "raw1"
    res2 = await kucoin_client.send_ws_api_request(
        "wsApiFuturesV1", "futures.order", dict(FUT, clientOid="raw2")
    )
    assert res2.ws_key == "futures"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        (dict(SPOT, clientOid="x" * 41), "clientOid"),
        (dict(SPOT, clientOid="has space"), "clientOid"),
        ({k: v for k, v in SPOT.items() if k != "side"}, "side"),
        ({k: v for k, v in SPOT.items() if k != "price"}, "price"),
        (dict(SPOT, size="1e"), "size"),
        (dict(SPOT, type="stop"), "type"),
    ],
)
async def test_bad_spot_input(
    kucoin_client: Facade, kucoin_sim: KucoinSimulator, kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as err:
        await kucoin_client.submit_new_spot_order(**kwargs)
    assert err.value.field == field
    assert kucoin_sim.received == [] and kucoin_sim.stats["connections"] == 0


async def test_bad_futures_input(kucoin_client: Facade, kucoin_sim: KucoinSimulator) -> None:
    with pytest.raises(ValidationError) as err:
        await kucoin_client.submit_futures_order(**dict(FUT, clientOid="f", qty="0.1"))
    assert err.value.field == "qty" and "only one of" in str(err.value)
    with pytest.raises(ValidationError) as err2:
        await kucoin_client.submit_multiple_futures_orders(
            [dict(FUT, clientOid=f"o{i}") for i in range(21)]
        )
    assert err2.value.field == "orders"
    with pytest.raises(ValidationError) as err3:
        await kucoin_client.cancel_futures_order(clientOid="f1")
    assert err3.value.field == "symbol"
    assert kucoin_sim.received == []


async def test_allow_max_time_window_fills_client_timestamp(
    kucoin_client: Facade, kucoin_sim: KucoinSimulator
) -> None:
    await kucoin_client.submit_new_spot_order(**SPOT, allowMaxTimeWindow=3000)
    args = sent(kucoin_sim, "spot.order")[0]["args"]
    assert abs(args["clientTimestamp"] - time.time() * 1000) < 2000


async def test_pretty_challenge_is_signed_raw(facade_kind: str) -> None:
    with KucoinSimulator(pretty_challenge=True) as sim:
        c = make_kucoin(facade_kind, sim)
        assert (await c.submit_new_spot_order(**SPOT)).code == "200000"
        await c.close()


@pytest.mark.parametrize(
    ("override", "code"),
    [
        ({"api_key": "nope"}, "400003"),
        ({"api_secret": "bad"}, "400005"),
        ({"api_passphrase": "bad"}, "400004"),
    ],
)
async def test_auth_failure_fast_and_once(
    facade_kind: str, kucoin_sim: KucoinSimulator, override: dict[str, str], code: str
) -> None:
    c = make_kucoin(facade_kind, kucoin_sim, **override)
    t0 = time.monotonic()
    with pytest.raises(AuthenticationError) as err:
        await c.submit_new_spot_order(**SPOT)
    assert err.value.code == code
    with pytest.raises(AuthenticationError):
        await c.submit_new_spot_order(**SPOT)
    assert time.monotonic() - t0 < 2.0
    assert kucoin_sim.stats["logins_failed"] == 1
    await c.close()


async def test_rate_limit_error(facade_kind: str) -> None:
    with KucoinSimulator(spot_pool_limit=2) as sim:
        c = make_kucoin(facade_kind, sim)
        r1 = await c.submit_new_spot_order(**SPOT)
        assert r1.rate_limit.remaining == 1
        await c.submit_new_spot_order(**SPOT)
        with pytest.raises(RateLimitError) as err:
            await c.submit_new_spot_order(**SPOT)
        assert (
            err.value.code == "429000"
            and err.value.remaining == 0
            and err.value.reset_ms is not None
        )
        await c.close()


async def test_timeout_late_reply_and_drop(facade_kind: str, kucoin_sim: KucoinSimulator) -> None:
    # The engine's own handling of a lost reply (tests/test_outcomes.py: the lookup after it)
    c = make_kucoin(facade_kind, kucoin_sim, resolve_unknown=False)
    late: list[dict[str, Any]] = []
    c.get_ws_client().on("late_response", late.append)
    await c.connect_ws_api(["spot"])
    kucoin_sim.faults.delay_next(0.5, op="spot.order")
    with pytest.raises(RequestTimeoutError):
        await c.submit_new_spot_order(**SPOT, clientOid="late1", timeout=0.15)
    await wait_for(lambda: len(late) == 1)
    assert late[0]["request"]["args"]["clientOid"] == "late1"
    kucoin_sim.faults.drop_next(op="spot.order")
    with pytest.raises(ConnectionLostError) as err:
        await c.submit_new_spot_order(**SPOT, clientOid="lost1")
    assert "clientOid" in str(err.value)
    res = await c.submit_new_spot_order(**SPOT, clientOid="after1")
    assert res.data.clientOid == "after1"
    assert [r["args"]["clientOid"] for r in sent(kucoin_sim, "spot.order")] == [
        "late1",
        "lost1",
        "after1",
    ]
    await c.close()


async def test_single_socket_and_enable_ns(facade_kind: str, kucoin_sim: KucoinSimulator) -> None:
    c = make_kucoin(facade_kind, kucoin_sim, single_socket=True, enable_ns=True)
    a = await c.submit_new_spot_order(**SPOT)
    b = await c.submit_futures_order(**FUT, clientOid="ff")
    assert a.ws_key == b.ws_key == "unified"
    assert kucoin_sim.stats["connections"] == 1
    assert a.inTime > 10**18  # nanoseconds
    await c.close()


def test_constructor_options() -> None:
    with pytest.raises(ValidationError) as err:
        kc.WebsocketAPIClient(
            **KC_KEY, accounts=[{"apiKey": "a", "apiSecret": "b", "apiPassphrase": "c"}]
        )
    assert err.value.field == "api_key"
    c = kc.WebsocketAPIClient(
        {"apiKey": "k", "apiSecret": "s", "apiPassphrase": "p", "pingInterval": 9000}
    )
    assert c.config.ping_interval == 9.0
    assert "s" not in repr(c).split("accounts")[1].replace("accounts", "")
    c.close()


async def test_time_sync_survives_clock_skew(facade_kind: str) -> None:
    with KucoinSimulator(clock_offset_ms=40_000) as sim:
        plain = make_kucoin(facade_kind, sim)
        with pytest.raises(AuthenticationError) as err:
            await plain.connect_ws_api(["spot"])
        assert err.value.code == "400002"
        await plain.close()
        synced = make_kucoin(facade_kind, sim, time_sync=True)
        assert (await synced.submit_new_spot_order(**SPOT)).code == "200000"
        await synced.close()

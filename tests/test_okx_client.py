"""OKX through both facades against the simulated exchange: every op, every error path."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

import pytest

from okxkc import okx
from okxkc.errors import (
    AuthenticationError,
    ClientClosedError,
    ConnectionLostError,
    ExchangeError,
    PartialFailureError,
    RequestTimeoutError,
    ValidationError,
)
from okxkc.okx.adapter import sign_login
from okxkc.testing.okx import OkxCredential, OkxSimulator

from .conftest import OKX_KEY, Facade, make_okx, okx_options, wait_for

ORDER = dict(instId="BTC-USDT", tdMode="cash", side="buy", ordType="limit", px="20000", sz="0.01")


def trading_requests(sim: OkxSimulator, op: str | None = None) -> list[dict[str, Any]]:
    return [r for r in sim.received if op is None or r.get("op") == op]


# -- the login signature ---------------------------------------------------------------
def test_login_signature_known_vectors() -> None:
    secret = "22582BD0CFF14C41EDBF1AB98506286D"
    assert sign_login(secret, "1538054050") == "+LdIr8lkkvhr5hoA3g9TMC0+uQJ849ftAcocA/ouu4M="
    assert sign_login(secret, "1704876947") == "5/36BgGV6m/6pmdc20zdqk0mzF5ZalmzzPD2fo3wavU="


# -- every op --------------------------------------------------------------------------
async def test_place_amend_cancel(okx_client: Facade, okx_sim: OkxSimulator) -> None:
    res = await okx_client.submit_new_order(**ORDER, clOrdId="a1", tag="mytag")
    assert isinstance(res, okx.OkxResponse)
    ack = res.data[0]
    assert ack.sCode == "0" and ack.ordId and ack.clOrdId == "a1"
    assert ack.tag == "mytag"  # the user's tag, never a broker tag
    assert res.ws_key == "private" and res.inTime is not None
    sent = trading_requests(okx_sim, "order")[0]
    # instId was resolved to the integer instIdCode from the instruments endpoint
    assert sent["args"][0]["instIdCode"] == okx_sim.inst_id_code("BTC-USDT")
    assert sent["args"][0]["px"] == "20000" and sent["args"][0]["tag"] == "mytag"

    amended = await okx_client.amend_order(
        instId="BTC-USDT", clOrdId="a1", newPx=Decimal("20100.5"), reqId="r1"
    )
    assert amended.data[0].reqId == "r1" and amended.data[0].sCode == "0"
    assert okx_sim.find_order(cl_ord_id="a1")["px"] == "20100.5"

    cancelled = await okx_client.cancel_order(instId="BTC-USDT", ordId=ack.ordId)
    assert cancelled.data[0].ordId == ack.ordId
    assert okx_sim.find_order(ord_id=ack.ordId)["state"] == "canceled"
    assert res.to_dict()["data"][0]["ordId"] == ack.ordId


async def test_batches(okx_client: Facade, okx_sim: OkxSimulator) -> None:
    orders = [dict(ORDER, clOrdId=f"b{i}", px=20000 + i) for i in range(3)]
    placed = await okx_client.submit_multiple_orders(orders)
    assert [a.clOrdId for a in placed.data] == ["b0", "b1", "b2"]
    assert all(a.sCode == "0" for a in placed.data)
    amended = await okx_client.amend_multiple_orders(
        [{"instId": "BTC-USDT", "clOrdId": f"b{i}", "newSz": "0.02"} for i in range(3)]
    )
    assert len(amended.data) == 3
    cancelled = await okx_client.cancel_multiple_orders(
        [{"instId": "BTC-USDT", "clOrdId": f"b{i}"} for i in range(3)]
    )
    assert {a.clOrdId for a in cancelled.data} == {"b0", "b1", "b2"}
    assert all(o["state"] == "canceled" for o in okx_sim.orders())


async def test_partial_failure_carries_every_item(okx_client: Facade) -> None:
    await okx_client.submit_new_order(**ORDER, clOrdId="dup1")
    with pytest.raises(PartialFailureError) as err:
        await okx_client.submit_multiple_orders(
            [dict(ORDER, clOrdId="new1"), dict(ORDER, clOrdId="dup1")]
        )
    exc = err.value
    assert exc.code == "2"
    assert [i.clOrdId for i in exc.items] == ["new1", "dup1"]
    assert [i.sCode for i in exc.failed] == ["51016"]
    assert [i.clOrdId for i in exc.succeeded] == ["new1"]


async def test_single_failure_is_exchange_error_with_item_code(okx_client: Facade) -> None:
    await okx_client.submit_new_order(**ORDER, clOrdId="x1")
    with pytest.raises(ExchangeError) as err:
        await okx_client.submit_new_order(**ORDER, clOrdId="x1")
    assert err.value.code == "51016"
    assert "already exists" in err.value.msg
    with pytest.raises(ExchangeError) as err2:
        await okx_client.cancel_order(instId="BTC-USDT", ordId="123")
    assert err2.value.code == "51400"


async def test_mass_cancel(okx_client: Facade, okx_sim: OkxSimulator) -> None:
    res = await okx_client.mass_cancel_orders(
        instType="OPTION", instFamily="BTC-USD", lockInterval=0
    )
    assert res.data[0].result is True
    assert trading_requests(okx_sim, "mass-cancel")[0]["args"] == [
        {"instType": "OPTION", "instFamily": "BTC-USD", "lockInterval": "0"}
    ]


async def test_spread_ops_use_business_socket(okx_client: Facade, okx_sim: OkxSimulator) -> None:
    sprd = "BTC-USDT_BTC-USDT-SWAP"
    placed = await okx_client.submit_spread_order(
        sprdId=sprd, clOrdId="s1", side="buy", ordType="limit", sz="1", px="-12.5"
    )
    assert placed.ws_key == "business" and placed.data[0].sCode == "0"
    assert placed.inTime is None  # spread replies carry no gateway times; still matched by id
    amended = await okx_client.amend_spread_order(clOrdId="s1", newSz="2", reqId="q1")
    assert amended.data[0].reqId == "q1"
    cancelled = await okx_client.cancel_spread_order(clOrdId="s1")
    assert cancelled.data[0].clOrdId == "s1"
    mass = await okx_client.mass_cancel_spread_orders(sprdId=sprd)
    assert mass.data[0].result is True
    paths = {r["_path"] for r in trading_requests(okx_sim) if r["op"].startswith("sprd")}
    assert paths == {"/ws/v5/business"}


async def test_send_ws_api_request_raw(okx_client: Facade, okx_sim: OkxSimulator) -> None:
    code = okx_sim.inst_id_code("BTC-USDT")
    res = await okx_client.send_ws_api_request(
        "private",
        "order",
        {"instIdCode": code, "tdMode": "cash", "side": "buy", "ordType": "market", "sz": "1"},
    )
    assert res.data[0]["sCode"] == "0"
    # Node SDK ws keys port as they are; a raw failure is typed too
    with pytest.raises(ExchangeError) as err:
        await okx_client.send_ws_api_request(
            "prodPrivate", "cancel-order", {"instIdCode": code, "ordId": "1"}
        )
    assert err.value.code == "51400"


# -- input validation: a clear error naming the field, nothing sent ---------------------
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({k: v for k, v in ORDER.items() if k != "side"}, "side"),
        (dict(ORDER, sz="abc"), "sz"),
        (dict(ORDER, sz="-1"), "sz"),
        (dict(ORDER, clOrdId="x" * 33), "clOrdId"),
        (dict(ORDER, clOrdId="has-hyphen"), "clOrdId"),
        (dict(ORDER, side="long"), "side"),
        (dict(ORDER, tag="t" * 17), "tag"),
        ({k: v for k, v in ORDER.items() if k != "px"}, "px"),
        ({k: v for k, v in ORDER.items() if k != "instId"}, "instId"),
        (dict(ORDER, sz=float("nan")), "sz"),
        (dict(ORDER, reduceOnly="yes"), "reduceOnly"),
    ],
)
async def test_bad_input_names_field_and_sends_nothing(
    okx_client: Facade, okx_sim: OkxSimulator, kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as err:
        await okx_client.submit_new_order(**kwargs)
    assert err.value.field == field
    assert field in str(err.value)
    assert okx_sim.received == [] and okx_sim.stats["connections"] == 0


async def test_batch_limits(okx_client: Facade, okx_sim: OkxSimulator) -> None:
    with pytest.raises(ValidationError) as err:
        await okx_client.submit_multiple_orders([dict(ORDER) for _ in range(21)])
    assert err.value.field == "orders" and "21" in str(err.value)
    with pytest.raises(ValidationError) as err2:
        await okx_client.submit_multiple_orders([dict(ORDER), dict(ORDER, sz="0")])
    assert err2.value.field == "orders[1].sz"
    assert okx_sim.received == []


async def test_unknown_instrument_is_validation_error(
    okx_client: Facade, okx_sim: OkxSimulator
) -> None:
    with pytest.raises(ValidationError) as err:
        await okx_client.submit_new_order(**dict(ORDER, instId="NOPE-USDT"))
    assert err.value.field == "instId"
    assert okx_sim.received == []


async def test_numbers_are_exact_decimal_strings(okx_client: Facade, okx_sim: OkxSimulator) -> None:
    await okx_client.submit_new_order(**dict(ORDER, px=1e-7, sz=Decimal("1E+2")))
    args = trading_requests(okx_sim, "order")[0]["args"][0]
    assert args["px"] == "0.0000001" and args["sz"] == "100"


def test_options_validation() -> None:
    with pytest.raises(ValidationError) as err:
        okx.WebsocketAPIClient(accounts=[OKX_KEY], base_ws_url="ws://example.com:8443")
    assert err.value.field == "base_ws_url" and "loopback" in str(err.value)
    with pytest.raises(ValidationError) as err2:
        okx.WebsocketAPIClient(accounts=[OKX_KEY], market="ASIA")
    assert err2.value.field == "market"
    with pytest.raises(ValidationError) as err3:
        okx.WebsocketAPIClient(accounts=[])
    assert err3.value.field == "accounts"
    with pytest.raises(ValidationError) as err4:
        okx.WebsocketAPIClient(accounts=[{"apiKey": "k", "apiSecret": "s"}])
    assert err4.value.field == "accounts[0].apiPass"


def test_urls_per_market() -> None:
    cases = {
        ("prod", False): "wss://ws.okx.com:8443/ws/v5/private",
        ("prod", True): "wss://wspap.okx.com:8443/ws/v5/private",
        ("EEA", False): "wss://wseea.okx.com:8443/ws/v5/private",
        ("EEA", True): "wss://wseeapap.okx.com:8443/ws/v5/private",
        ("US", False): "wss://wsus.okx.com:8443/ws/v5/private",
    }
    for (market, demo), url in cases.items():
        c = okx.WebsocketAPIClient(accounts=[OKX_KEY], market=market, demo_trading=demo)
        assert c._adapter.public_url("private") == url
        c.close()
    c = okx.WebsocketAPIClient({"accounts": [OKX_KEY], "market": "EEA", "demoTrading": True})
    assert (
        c._adapter.public_url("business")
        == "wss://wseeapap.okx.com:8443/ws/v5/business?brokerId=9999"
    )
    c.close()


def test_secrets_not_in_repr() -> None:
    c = okx.WebsocketAPIClient(accounts=[OKX_KEY])
    text = repr(c) + repr(c.config)
    assert "okxkc-test-secret" not in text and "okxkc-test-pass" not in text
    c.close()


# -- accounts --------------------------------------------------------------------------
async def test_each_account_its_own_socket(facade_kind: str) -> None:
    creds = [OkxCredential("key-a", "sec-a", "pass-a"), OkxCredential("key-b", "sec-b", "pass-b")]
    with OkxSimulator(credentials=creds) as sim:
        c = make_okx(
            facade_kind,
            sim,
            accounts=[
                {"apiKey": "key-a", "apiSecret": "sec-a", "apiPass": "pass-a"},
                {"apiKey": "key-b", "apiSecret": "sec-b", "apiPass": "pass-b"},
            ],
        )
        await c.submit_new_order(**ORDER, clOrdId="fromA")
        await c.submit_new_order(**ORDER, clOrdId="fromB", account="key-b")
        await c.submit_new_order(**ORDER, clOrdId="fromB2", account=1)
        assert [o["clOrdId"] for o in sim.orders("key-a")] == ["fromA"]
        assert [o["clOrdId"] for o in sim.orders("key-b")] == ["fromB", "fromB2"]
        assert sim.stats["logins_ok"] == 2
        with pytest.raises(ValidationError):
            await c.submit_new_order(**ORDER, account=5)
        await c.close()


# -- failures --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cred", "code"),
    [
        (
            {"apiKey": "wrong", "apiSecret": "okxkc-test-secret", "apiPass": "okxkc-test-pass"},
            "60005",
        ),
        ({"apiKey": "okxkc-test-key", "apiSecret": "okxkc-test-secret", "apiPass": "bad"}, "60024"),
        ({"apiKey": "okxkc-test-key", "apiSecret": "bad", "apiPass": "okxkc-test-pass"}, "60007"),
    ],
)
async def test_login_rejected_is_terminal_and_fast(
    facade_kind: str, okx_sim: OkxSimulator, cred: dict[str, str], code: str
) -> None:
    c = make_okx(facade_kind, okx_sim, accounts=[cred])
    t0 = time.monotonic()
    with pytest.raises(AuthenticationError) as err:
        await c.submit_new_order(**ORDER)
    assert err.value.code == code
    # later calls fail at once with the same error, without a new login attempt
    with pytest.raises(AuthenticationError):
        await c.cancel_order(instId="BTC-USDT", ordId="1")
    assert time.monotonic() - t0 < 2.0
    assert okx_sim.stats["logins_failed"] == 1
    assert okx_sim.received == []
    await c.close()


async def test_region_and_environment_mismatch(facade_kind: str) -> None:
    creds = [
        OkxCredential("eea-key", "s", "p", region="EEA"),
        OkxCredential("demo-key", "s", "p", demo=True),
    ]
    with OkxSimulator(credentials=creds) as sim:
        for key, code in (("eea-key", "60032"), ("demo-key", "50101")):
            c = make_okx(
                facade_kind, sim, accounts=[{"apiKey": key, "apiSecret": "s", "apiPass": "p"}]
            )
            with pytest.raises(AuthenticationError) as err:
                await c.connect_ws_api(["private"])
            assert err.value.code == code
            await c.close()


async def test_connect_ws_api_after_rejection_tries_again(
    facade_kind: str, okx_sim: OkxSimulator
) -> None:
    okx_sim.faults.reject_next_login()
    c = make_okx(facade_kind, okx_sim)
    with pytest.raises(AuthenticationError):
        await c.submit_new_order(**ORDER)
    await c.connect_ws_api(["private"])
    res = await c.submit_new_order(**ORDER)
    assert res.data[0].sCode == "0"
    await c.close()


async def test_swallowed_reply_times_out_and_late_reply_is_emitted(
    facade_kind: str, okx_sim: OkxSimulator
) -> None:
    # The engine's own handling of a lost reply (tests/test_outcomes.py: the lookup after it)
    c = make_okx(facade_kind, okx_sim, resolve_unknown=False)
    late: list[dict[str, Any]] = []
    c.get_ws_client().on("late_response", late.append)
    await c.connect_ws_api(["private"])
    okx_sim.faults.delay_next(0.6, op="order")
    with pytest.raises(RequestTimeoutError) as err:
        await c.submit_new_order(**ORDER, clOrdId="slow1", timeout=0.2)
    assert err.value.sent is True and "reconcile" in str(err.value)
    await wait_for(lambda: len(late) == 1)
    assert late[0]["request"]["op"] == "order"
    assert late[0]["request"]["args"][0]["clOrdId"] == "slow1"
    assert late[0]["response"]["data"][0]["clOrdId"] == "slow1"
    # the connection is still good
    assert (await c.submit_new_order(**ORDER)).data[0].sCode == "0"
    assert c.pending_requests() == 0
    await c.close()


async def test_drop_fails_in_flight_and_reconnects(facade_kind: str, okx_sim: OkxSimulator) -> None:
    c = make_okx(facade_kind, okx_sim, resolve_unknown=False)
    events: list[str] = []
    for name in ("open", "reconnect", "reconnected", "authenticated"):
        c.get_ws_client().on(name, lambda p: events.append(p["event"]))
    await c.connect_ws_api(["private"])
    okx_sim.faults.drop_next(op="order", process=True)
    with pytest.raises(ConnectionLostError) as err:
        await c.submit_new_order(**ORDER, clOrdId="lost1")
    assert "outcome unknown" in str(err.value) and "clOrdId" in str(err.value)
    # the next call waits for the new authenticated socket
    res = await c.submit_new_order(**ORDER, clOrdId="after1")
    assert res.data[0].sCode == "0"
    # the lost order was never re-sent
    assert [r["args"][0].get("clOrdId") for r in trading_requests(okx_sim, "order")] == [
        "lost1",
        "after1",
    ]
    await wait_for(lambda: events.count("authenticated") == 2)
    assert events[:2] == ["open", "authenticated"]
    assert events[2:] == ["reconnect", "reconnected", "authenticated"]
    await c.close()


async def test_notice_moves_to_a_new_socket_without_failures(facade_kind: str) -> None:
    with OkxSimulator(notice_grace=0.5) as sim:
        c = make_okx(facade_kind, sim)
        await c.connect_ws_api(["private"])
        sim.send_notice()
        results = []
        for i in range(20):
            results.append(await c.submit_new_order(**ORDER, clOrdId=f"n{i}"))
            await asyncio.sleep(0.05)
        assert all(r.data[0].sCode == "0" for r in results)
        assert sim.stats["logins_ok"] == 2
        await c.close()


async def test_closed_client(facade_kind: str, okx_sim: OkxSimulator) -> None:
    c = make_okx(facade_kind, okx_sim)
    await c.submit_new_order(**ORDER)
    await c.close()
    with pytest.raises(ClientClosedError):
        await c.submit_new_order(**ORDER)


async def test_exp_time(facade_kind: str, okx_sim: OkxSimulator) -> None:
    c = make_okx(facade_kind, okx_sim, exp_time=5000)
    await c.submit_new_order(**ORDER)
    sent = trading_requests(okx_sim, "order")[0]
    assert abs(int(sent["expTime"]) - (time.time() * 1000 + 5000)) < 2000
    with pytest.raises(ValidationError) as err:
        await c.submit_new_order(**ORDER, exp_time=-5)
    assert err.value.field == "exp_time"
    with pytest.raises(ValidationError) as err2:  # cancels take no expiry (mypy says so too)
        await c.cancel_order(instId="BTC-USDT", ordId="1", exp_time=10)  # type: ignore[call-arg]
    assert err2.value.field == "exp_time" and "does not take" in str(err2.value)
    assert trading_requests(okx_sim, "cancel-order") == []
    await c.close()


async def test_time_sync_survives_clock_skew(facade_kind: str) -> None:
    with OkxSimulator(clock_offset_ms=40_000) as sim:
        plain = make_okx(facade_kind, sim)
        with pytest.raises(AuthenticationError) as err:
            await plain.connect_ws_api(["private"])
        assert err.value.code == "60006"
        await plain.close()
        synced = make_okx(facade_kind, sim, time_sync=True)
        assert (await synced.submit_new_order(**ORDER)).data[0].sCode == "0"
        await synced.close()


def test_sync_context_manager(okx_sim: OkxSimulator) -> None:
    with okx.WebsocketAPIClient(**okx_options(okx_sim)) as c:
        assert c.submit_new_order(**ORDER).data[0].sCode == "0"
    with pytest.raises(ClientClosedError):
        c.submit_new_order(**ORDER)


async def test_async_context_manager(okx_sim: OkxSimulator) -> None:
    async with okx.AsyncWebsocketAPIClient(**okx_options(okx_sim)) as c:
        await c.connect_ws_api()
        assert (await c.submit_new_order(**ORDER)).data[0].sCode == "0"

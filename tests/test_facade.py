"""The generated facades as a user meets them: options, keyword checks, ws keys of the
right environment only, instrument preloading, and sync/async twins."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

import pytest

from okxkc import kucoin as kc
from okxkc import okx
from okxkc.config import KucoinAccount, OkxAccount
from okxkc.errors import AuthenticationError, ExchangeError, ValidationError
from okxkc.testing.kucoin import KucoinSimulator
from okxkc.testing.okx import OkxCredential, OkxSimulator

from .conftest import KC_KEY, OKX_KEY, Facade, make_kucoin, make_okx

ORDER = dict(instId="BTC-USDT", tdMode="cash", side="buy", ordType="limit", px="20000", sz="0.01")
KC_ORDER = dict(symbol="BTC-USDT", side="buy", type="limit", price="20000", size="0.001")
PARTNER = {"partner": "mybroker", "partner_key": "broker-secret"}


# -- options: one name table -------------------------------------------------------------
def _kucoin(kind: str, options: Any = None, **kw: Any) -> Facade:
    cls = kc.AsyncWebsocketAPIClient if kind == "async" else kc.WebsocketAPIClient
    kw.setdefault("attach_event_listeners", False)
    return Facade(cls(options, **kw), kind == "async")


@pytest.mark.parametrize("form", ["object", "dict", "keywords"])
async def test_kucoin_account_with_partner_three_ways(facade_kind: str, form: str) -> None:
    with KucoinSimulator(partners={"mybroker": "broker-secret"}) as sim:
        where = dict(base_ws_url=sim.ws_url, base_rest_url=sim.url)
        if form == "object":
            c = _kucoin(facade_kind, accounts=[KucoinAccount(**KC_KEY, **PARTNER)], **where)
        elif form == "dict":
            account = {
                "apiKey": KC_KEY["api_key"],
                "apiSecret": KC_KEY["api_secret"],
                "apiPassphrase": KC_KEY["api_passphrase"],
                "partner": "mybroker",
                "partnerKey": "broker-secret",
            }
            c = _kucoin(facade_kind, {"accounts": [account], "baseWsUrl": sim.ws_url})
        else:
            c = _kucoin(facade_kind, **KC_KEY, **PARTNER, **where)
        assert c.client.config.accounts[0].partner == "mybroker"
        res = await c.submit_new_spot_order(**KC_ORDER, clientOid=f"p-{form}")
        assert res.data.clientOid == f"p-{form}"
        assert sim.stats["logins_ok"] == 1  # the simulator checked partner_sign
        await c.close()
        # The partner key really signs: a wrong one is refused at login.
        bad = _kucoin(facade_kind, **KC_KEY, partner="mybroker", partner_key="wrong", **where)
        with pytest.raises(AuthenticationError):
            await bad.connect_ws_api(["spot"])
        await bad.close()
        assert "broker-secret" not in repr(c.client.config) + repr(c.client)


@pytest.mark.parametrize("form", ["object", "keywords"])
async def test_okx_account_as_object_or_keywords(
    facade_kind: str, okx_sim: OkxSimulator, form: str
) -> None:
    acct = OkxAccount(
        api_key=OKX_KEY["apiKey"], api_secret=OKX_KEY["apiSecret"], api_pass=OKX_KEY["apiPass"]
    )
    kw: dict[str, Any] = (
        {"accounts": [acct]}
        if form == "object"
        else {"accounts": None, "api_key": acct.api_key, "api_secret": acct.api_secret,
              "api_pass": acct.api_pass}
    )  # fmt: skip
    c = make_okx(facade_kind, okx_sim, **kw)
    assert (await c.submit_new_order(**ORDER)).data[0].sCode == "0"
    await c.close()


def test_camel_case_options_take_node_units() -> None:
    c = okx.WebsocketAPIClient(
        {
            "accounts": [OKX_KEY],
            "pingInterval": 10_000,
            "requestTimeout": 2500,
            "reconnectTimeout": 500,
            "demoTrading": True,
            "expTime": 3000,
            "request_timeout": 4,  # okxkc names work in the dict too, in okxkc units
        },
        attach_event_listeners=False,
        connect_timeout=3,
    )
    cfg = c.config
    assert cfg.ping_interval == 10.0 and cfg.reconnect_timeout == 0.5
    assert cfg.request_timeout == 4 and cfg.connect_timeout == 3
    assert cfg.demo_trading is True and cfg.exp_time == 3000  # type: ignore[attr-defined]
    c.close()


@pytest.mark.parametrize(
    ("options", "kwargs", "field", "says"),
    [
        (None, {"pingIntervl": 5}, "pingIntervl", "did you mean"),
        (None, {"demoTrading": True}, "demoTrading", "did you mean demo_trading?"),
        ({"pingIntervall": 5000}, {}, "pingIntervall", "did you mean pingInterval?"),
        (None, {"request_timeout": "10"}, "request_timeout", "must be a number"),
        (None, {"attach_event_listeners": "no"}, "attach_event_listeners", "True or False"),
        (None, {"exp_time": 0}, "exp_time", "milliseconds"),
        (None, {"exp_time": 86_400_001}, "exp_time", "milliseconds"),
        (None, {"preload_instruments": "SPOT"}, "preload_instruments", "list"),
        (None, {"preload_instruments": ["BOND"]}, "preload_instruments", "BOND"),
        (None, {"api_key": "k", "api_secret": "s", "api_pass": "p"}, "api_key", "not both"),
    ],
)
def test_bad_options_name_the_option(
    options: Any, kwargs: dict[str, Any], field: str, says: str
) -> None:
    with pytest.raises(ValidationError) as err:
        okx.WebsocketAPIClient(options, accounts=[OKX_KEY], **kwargs)
    assert err.value.field == field
    assert says in str(err.value)


def test_kucoin_account_errors_name_the_field() -> None:
    with pytest.raises(ValidationError) as err:
        kc.WebsocketAPIClient(**KC_KEY, partner="mybroker")
    assert err.value.field == "partner_key"
    with pytest.raises(ValidationError) as err2:
        kc.WebsocketAPIClient(accounts=[dict(KC_KEY, partnerKy="x")])
    assert err2.value.field == "accounts[0].partnerKy"
    assert "did you mean partnerKey?" in str(err2.value)
    with pytest.raises(ValidationError) as err3:
        kc.WebsocketAPIClient(accounts=[OkxAccount(api_key="k", api_secret="s", api_pass="p")])
    assert err3.value.field == "accounts[0]" and "KucoinAccount" in str(err3.value)


def test_exp_time_is_checked_once_with_one_rule(okx_sim: OkxSimulator) -> None:
    # The option and the per-call argument give the same answer for the same value.
    for bad in (0, -1, 86_400_001, 1.5, True):
        with pytest.raises(ValidationError) as opt:
            okx.WebsocketAPIClient(accounts=[OKX_KEY], exp_time=bad)
        c = okx.WebsocketAPIClient(accounts=[OKX_KEY], base_ws_url=okx_sim.ws_url)
        with pytest.raises(ValidationError) as call:
            c.submit_new_order(**ORDER, exp_time=bad)
        assert opt.value.reason == call.value.reason and call.value.field == "exp_time"
        c.close()
    assert okx_sim.received == []


# -- unknown keywords ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "field", "hint"),
    [
        (dict(ORDER, sidee="buy"), "sidee", "side"),
        ({**{k: v for k, v in ORDER.items() if k != "instId"}, "instid": "BTC-USDT"}, "instid", "instId"),
        (dict(ORDER, timout=3), "timout", "timeout"),
        (dict(ORDER, exp_tme=100), "exp_tme", "exp_time"),
    ],
)  # fmt: skip
async def test_okx_misspelt_keyword_is_named_with_a_hint(
    okx_client: Facade, okx_sim: OkxSimulator, kwargs: dict[str, Any], field: str, hint: str
) -> None:
    with pytest.raises(ValidationError) as err:
        await okx_client.submit_new_order(**kwargs)
    assert err.value.field == field
    assert f"did you mean {hint}?" in str(err.value)
    with pytest.raises(ValidationError) as err2:
        await okx_client.submit_multiple_orders([dict(ORDER), dict(ORDER, ordtype="limit")])
    assert err2.value.field == "orders[1].ordtype" and "did you mean ordType?" in str(err2.value)
    with pytest.raises(ValidationError) as err3:
        await okx_client.cancel_order(instId="BTC-USDT", ordId="1", qqqqq=1)
    assert err3.value.field == "qqqqq" and "extra_params" in str(err3.value)
    assert okx_sim.received == [] and okx_sim.stats["connections"] == 0


async def test_kucoin_misspelt_keyword_is_named_with_a_hint(
    kucoin_client: Facade, kucoin_sim: KucoinSimulator
) -> None:
    with pytest.raises(ValidationError) as err:
        await kucoin_client.submit_new_spot_order(**KC_ORDER, clientoid="x1")
    assert err.value.field == "clientoid" and "did you mean clientOid?" in str(err.value)
    with pytest.raises(ValidationError) as err2:
        await kucoin_client.submit_futures_order(
            symbol="XBTUSDTM", side="buy", type="limit", price="1", size=1, leverage=5,
            clientOid="f1", reduce_only=True,
        )  # fmt: skip
    assert err2.value.field == "reduce_only" and "did you mean reduceOnly?" in str(err2.value)
    with pytest.raises(ValidationError) as err3:
        await kucoin_client.cancel_spot_order(symbol="BTC-USDT", orderId="1", exp_time=5)
    assert err3.value.field == "exp_time" and "does not take" in str(err3.value)
    assert kucoin_sim.stats["requests"] == 0 and kucoin_sim.stats["connections"] == 0


# -- ws keys: never another environment ----------------------------------------------------
@pytest.mark.parametrize(
    ("market", "demo", "key", "ok"),
    [
        ("prod", False, "prodPrivate", True),
        ("prod", False, "prodBusiness", True),
        ("prod", False, "prodDemoPrivate", False),  # a demo key on a live client
        ("prod", True, "prodPrivate", False),  # a live key on a demo client
        ("prod", True, "prodDemoPrivate", True),
        ("prod", False, "eeaLivePrivate", False),  # another market
        ("prod", False, "usLivePrivate", False),
        ("EEA", False, "eeaLivePrivate", True),
        ("EEA", False, "prodPrivate", False),
        ("EEA", True, "eeaDemoBusiness", True),
        ("US", False, "usDemoPrivate", False),
        ("prod", False, "prodPublic", False),  # no trading on market data
        ("prod", False, "somethingPrivate", False),
        ("prod", False, "PRIVATE", False),
    ],
)
async def test_okx_node_ws_keys_only_of_this_environment(
    facade_kind: str, market: str, demo: bool, key: str, ok: bool
) -> None:
    cred = OkxCredential(*OKX_KEY.values(), region=market, demo=demo)
    with OkxSimulator(region=market, demo=demo, credentials=[cred]) as sim:
        c = make_okx(facade_kind, sim, market=market, demo_trading=demo)
        params = {"instId": "BTC-USDT", "ordId": "1"}
        if ok:
            with pytest.raises(ExchangeError):  # it reached the exchange (no such order)
                await c.send_ws_api_request(key, "cancel-order", params)
            assert [r["op"] for r in sim.received] == ["cancel-order"]
        else:
            with pytest.raises(ValidationError) as err:
                await c.send_ws_api_request(key, "cancel-order", params)
            assert err.value.field == "ws_key" and repr(key) in str(err.value)
            with pytest.raises(ValidationError):
                await c.connect_ws_api([key])
            assert sim.received == [] and sim.stats["connections"] == 0
        await c.close()


@pytest.mark.parametrize(
    ("key", "ok"),
    [("wsApiSpotV1", True), ("spot", True), ("spotPrivateV1", False), ("futuresPublicV1", False),
     ("privateProV2", False), ("wsApiSpotV2", False)],
)  # fmt: skip
async def test_kucoin_node_ws_keys(
    facade_kind: str, kucoin_sim: KucoinSimulator, key: str, ok: bool
) -> None:
    c = make_kucoin(facade_kind, kucoin_sim)
    params = {"symbol": "BTC-USDT", "clientOid": "n1", "side": "buy", "type": "limit",
              "price": "1", "size": "1"}  # fmt: skip
    if ok:
        res = await c.send_ws_api_request(key, "spot.order", params)
        assert res.to_dict()["data"]["clientOid"] == "n1"
    else:
        with pytest.raises(ValidationError) as err:
            await c.send_ws_api_request(key, "spot.order", params)
        assert err.value.field == "ws_key"
        assert kucoin_sim.stats["connections"] == 0
    await c.close()


# -- instrument codes preloaded ------------------------------------------------------------
def _count_instrument_fetches(client: Any) -> list[str]:
    """Record every instruments-list GET the client makes (its one REST exit for them)."""
    seen: list[str] = []
    real: Callable[..., Any] = client._codes._get_json

    async def counting(url: str, headers: Any = None) -> Any:
        seen.append(url)
        return await real(url, headers)

    client._codes._get_json = counting
    return seen


async def test_connect_preloads_codes_so_the_first_order_makes_no_rest_call(
    facade_kind: str, okx_sim: OkxSimulator
) -> None:
    c = make_okx(facade_kind, okx_sim)
    fetches = _count_instrument_fetches(c.client)
    await c.connect_ws_api()
    assert sorted(u.rsplit("=", 1)[1] for u in fetches) == ["SPOT", "SWAP"]  # the default
    fetches.clear()
    await c.submit_new_order(**ORDER)
    await c.submit_new_order(**dict(ORDER, instId="BTC-USDT-SWAP", tdMode="cross"))
    assert fetches == []  # no REST round trip before either order
    sent = [r for r in okx_sim.received if r["op"] == "order"]
    assert sent[0]["args"][0]["instIdCode"] == okx_sim.inst_id_code("BTC-USDT")
    await c.connect_ws_api()  # already loaded: not fetched again
    assert fetches == []
    await c.close()


async def test_load_instruments_on_demand(facade_kind: str, okx_sim: OkxSimulator) -> None:
    c = make_okx(facade_kind, okx_sim, preload_instruments=())
    fetches = _count_instrument_fetches(c.client)
    await c.connect_ws_api()
    assert fetches == []  # preloading switched off
    await c.load_instruments(["FUTURES"])
    assert [u.rsplit("=", 1)[1] for u in fetches] == ["FUTURES"]
    futures = next(i["instId"] for i in okx_sim.instrument_rows() if i["instType"] == "FUTURES")
    await c.submit_new_order(**dict(ORDER, instId=futures, tdMode="cross"))
    assert len(fetches) == 1
    await c.submit_new_order(**ORDER)  # SPOT was not loaded: fetched on first use
    assert len(fetches) == 2
    with pytest.raises(ValidationError) as err:
        await c.load_instruments(["OPTION"])
    assert err.value.field == "inst_types"
    await c.close()


async def test_a_failed_preload_does_not_fail_connect(
    facade_kind: str, okx_sim: OkxSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    c = make_okx(facade_kind, okx_sim, base_rest_url="http://127.0.0.1:9")  # nothing there
    with caplog.at_level(logging.WARNING, logger="okxkc"):
        await c.connect_ws_api()
    assert okx_sim.stats["logins_ok"] == 2  # private and business are ready
    assert any("could not preload" in r.getMessage() for r in caplog.records)
    with pytest.raises(Exception):  # noqa: B017 - the order itself then needs the list
        await c.submit_new_order(**ORDER)
    await c.close()


# -- the two facades are twins ---------------------------------------------------------------
@pytest.mark.parametrize("module", [okx, kc])
def test_sync_and_async_clients_have_the_same_methods_and_arguments(module: Any) -> None:
    sync, asyn = module.WebsocketAPIClient, module.AsyncWebsocketAPIClient
    names = {n for n in dir(sync) if not n.startswith("_") or n in ("__init__", "__enter__")}
    assert names - {"__enter__"} <= set(dir(asyn))
    for name in names - {"__enter__", "config"}:
        s, a = getattr(sync, name), getattr(asyn, name)
        assert inspect.signature(s).parameters == inspect.signature(a).parameters, name
        generated = "client" in inspect.getmodule(s).__name__  # type: ignore[union-attr]
        if generated and name not in ("__init__",):
            assert inspect.iscoroutinefunction(a) and not inspect.iscoroutinefunction(s), name
    assert inspect.iscoroutinefunction(asyn.__aexit__) and not hasattr(sync, "__aexit__")

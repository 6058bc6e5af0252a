"""The pure parts of settling a lost reply: the signed REST lookups each exchange's rules
build, what their answers mean, and the resolver's timing rules (against a scripted
REST server, no sockets)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import pytest

from okxkc._engine.outcome import CANCEL, PLACE, Finding, Resolver, Sending, Target
from okxkc._signing import Clock, hmac_b64, iso_ms
from okxkc.config import KucoinAccount, OkxAccount
from okxkc.errors import ConnectionLostError, NotExecutedError, RequestTimeoutError
from okxkc.kucoin.lookup import KucoinLookups
from okxkc.okx.lookup import OkxLookups

OKX_ACCT = OkxAccount(api_key="k1", api_secret="s1", api_pass="p1")
KC_ACCT = KucoinAccount(api_key="k2", api_secret="s2", api_passphrase="p2")


def _b64mac(secret: str, msg: str) -> str:
    return base64.b64encode(
        hmac.new(secret.encode(), msg.encode(), hashlib.sha256).digest()
    ).decode()


def test_signing_helpers() -> None:
    assert hmac_b64("s", "m") == _b64mac("s", "m")
    assert iso_ms(1607418537715) == "2020-12-08T09:08:57.715Z"
    assert iso_ms(1607418537005) == "2020-12-08T09:08:57.005Z"


@pytest.mark.parametrize("demo", [False, True])
def test_okx_lookup_is_signed_over_the_path_with_its_query(demo: bool) -> None:
    rules = OkxLookups("https://www.okx.com/", Clock(), demo)
    t = Target(0, PLACE, {"instId": "BTC-USDT", "clOrdId": "abc1"}, {})
    url, h = rules.lookup_request(t, OKX_ACCT)
    assert url == "https://www.okx.com/api/v5/trade/order?instId=BTC-USDT&clOrdId=abc1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", h["OK-ACCESS-TIMESTAMP"])
    path = urlsplit(url).path + "?" + urlsplit(url).query
    assert h["OK-ACCESS-SIGN"] == _b64mac("s1", h["OK-ACCESS-TIMESTAMP"] + "GET" + path)
    assert h["OK-ACCESS-KEY"] == "k1" and h["OK-ACCESS-PASSPHRASE"] == "p1"
    assert ("x-simulated-trading" in h) is demo
    sprd = Target(0, CANCEL, {"ordId": "77"}, {})
    assert rules.lookup_request(sprd, OKX_ACCT)[0].endswith("/api/v5/sprd/order?ordId=77")


def test_okx_answers() -> None:
    t = Target(0, PLACE, {"instId": "BTC-USDT", "clOrdId": "a"}, {})
    read = OkxLookups.read
    assert read(t, {"code": "0", "data": [{"ordId": "1", "state": "live"}]}).state == "found"
    assert read(t, {"code": "51603", "msg": "Order does not exist", "data": []}).state == "absent"
    refused = read(t, {"code": "50113", "msg": "Invalid Sign"})
    assert refused.state == "failed" and refused.terminal
    busy = read(t, {"code": "50011", "msg": "Rate limit"})
    assert busy.state == "failed" and not busy.terminal
    assert read(t, "<html>").state == "failed"


def test_kucoin_lookup_paths_and_signature() -> None:
    rules = KucoinLookups("https://api.kucoin.com", "https://api-futures.kucoin.com", Clock())
    cases = [
        ({"market": "spot", "symbol": "BTC-USDT", "clientOid": "c1"},
         "https://api.kucoin.com/api/v1/hf/orders/client-order/c1?symbol=BTC-USDT"),
        ({"market": "spot", "symbol": "BTC-USDT", "orderId": "o1"},
         "https://api.kucoin.com/api/v1/hf/orders/o1?symbol=BTC-USDT"),
        ({"market": "margin", "symbol": "BTC-USDT", "clientOid": "c1"},
         "https://api.kucoin.com/api/v3/hf/margin/orders/client-order/c1?symbol=BTC-USDT"),
        ({"market": "futures", "clientOid": "c1"},
         "https://api-futures.kucoin.com/api/v1/orders/byClientOid?clientOid=c1"),
        ({"market": "futures", "orderId": "123"},
         "https://api-futures.kucoin.com/api/v1/orders/123"),
    ]  # fmt: skip
    for key, want in cases:
        url, h = rules.lookup_request(Target(0, PLACE, dict(key), {}), KC_ACCT)
        assert url == want
        path = urlsplit(url).path + ("?" + urlsplit(url).query if urlsplit(url).query else "")
        assert h["KC-API-SIGN"] == _b64mac("s2", h["KC-API-TIMESTAMP"] + "GET" + path)
        assert h["KC-API-PASSPHRASE"] == _b64mac("s2", "p2")  # signed, never the plain text
        assert h["KC-API-KEY"] == "k2" and h["KC-API-KEY-VERSION"] == "2"
        assert "p2" not in h.values() and "s2" not in h.values()


def test_kucoin_not_found_forms() -> None:
    t = Target(0, PLACE, {"market": "spot", "symbol": "BTC-USDT", "clientOid": "c"}, {})
    read = KucoinLookups.read
    for body in (
        {"code": "400100", "msg": "order not exist."},
        {"code": "100001", "msg": "error.getOrder.orderNotExist"},
        {"code": "200000", "data": None},
        {"code": "200000", "data": {}},
    ):
        assert read(t, body).state == "absent", body
    assert read(t, {"code": "400100", "msg": "symbol is required"}).state == "failed"
    refused = read(t, {"code": "400005", "msg": "Invalid KC-API-SIGN"})
    assert refused.state == "failed" and refused.terminal
    assert read(t, {"code": "200000", "data": {"id": "1", "active": True}}).state == "found"


def test_kucoin_cancel_effects() -> None:
    t = Target(0, CANCEL, {"market": "spot", "symbol": "S", "clientOid": "c"}, {})
    eff = KucoinLookups.effect
    live = Finding("found", {"id": "1", "active": True})
    gone = Finding("found", {"id": "1", "active": False, "cancelExist": True})
    filled = Finding("found", {"id": "1", "active": False, "cancelExist": False})
    assert eff(t, live) == ("not_yet", "open")
    assert eff(t, gone) == ("done", "canceled")
    assert eff(t, filled) == ("never", "done")


# -- the resolver's timing rules, against a scripted REST server -----------------------------
class _Meta:
    def __init__(self, op: str, args: Any, timeout: float) -> None:
        self.op, self.args, self.timeout, self.ws_key, self.extras = (
            op,
            args,
            timeout,
            "private",
            None,
        )


class _Core:
    """Fails the request as told, then answers GETs from ``script(url)``."""

    def __init__(self, exc: BaseException, script: Any) -> None:
        self.accounts = [OKX_ACCT]
        self.exc = exc
        self.script = script
        self.gets: list[str] = []
        self.events: list[tuple[str, Mapping[str, Any]]] = []

    async def get_json(self, url: str, headers: Mapping[str, str] | None = None) -> Any:
        self.gets.append(url)
        return self.script(url)

    def emit(self, event: str, payload: Mapping[str, Any]) -> None:
        self.events.append((event, payload))


def _resolver(core: _Core, clock: Clock, **kw: Any) -> Resolver:
    opts = dict(enabled=True, settle=0.2, grace=1.0)
    opts.update(kw)
    return Resolver(core, OkxLookups("https://x.test", clock, False), **opts)  # type: ignore[arg-type]


async def _call(r: Resolver, core: _Core, meta: _Meta, sending: Sending) -> Any:
    """A call whose request ended with ``core.exc``, as the connection hands it over."""
    meta.extras = sending
    return await r.settle_lost(0, meta, core.exc)  # type: ignore[arg-type]


async def test_not_found_before_the_exchange_clock_passes_the_expiry_proves_nothing() -> None:
    clock = Clock()
    expires = clock.now_ms() + 150
    server = {"lag_ms": 200}  # the exchange's clock is 200 ms behind ours

    def script(url: str) -> Any:
        if url.endswith("/public/time"):
            return {"code": "0", "data": [{"ts": str(clock.now_ms() - server["lag_ms"])}]}
        return {"code": "51603", "msg": "Order does not exist", "data": []}

    core = _Core(ConnectionLostError("lost", op="order"), script)
    r = _resolver(core, clock)
    meta = _Meta("order", [{"instId": "BTC-USDT", "clOrdId": "a1"}], 0.5)
    sending = Sending(time.monotonic(), expires_ms=expires, request_id="r1")
    t0 = time.monotonic()
    with pytest.raises(NotExecutedError) as err:
        await _call(r, core, meta, sending)
    # our clock passed the expiry after 150 ms, the exchange's only after 350 ms
    assert time.monotonic() - t0 >= 0.35
    assert err.value.lookup is not None and err.value.lookup.server_time_ms is not None
    assert err.value.lookup.server_time_ms >= expires
    assert err.value.request is not None and err.value.request.id == "r1"
    times = [i for i, u in enumerate(core.gets) if u.endswith("/public/time")]
    assert times and times[-1] < len(core.gets) - 1  # the clock was read before the last lookup
    assert core.events[-1][0] == "resolved" and core.events[-1][1]["outcome"] == "not_executed"


async def test_a_place_without_expiry_is_unknown_after_the_settle_time() -> None:
    clock = Clock()
    core = _Core(
        RequestTimeoutError("no reply", sent=True, op="sprd-order"),
        lambda url: {"code": "51603", "msg": "Order does not exist", "data": []},
    )
    r = _resolver(core, clock)
    meta = _Meta("sprd-order", [{"clOrdId": "s1"}], 0.1)
    t0 = time.monotonic()
    with pytest.raises(RequestTimeoutError) as err:
        await _call(r, core, meta, Sending(time.monotonic()))
    assert 0.2 <= time.monotonic() - t0 < 1.0
    assert err.value.lookup is not None and err.value.lookup.verdict == "unknown"
    assert all("/public/time" not in u for u in core.gets)  # nothing to prove by the clock


async def test_not_sent_and_disabled_are_left_alone() -> None:
    clock = Clock()
    for exc, enabled in (
        (RequestTimeoutError("not sent", sent=False, op="order"), True),
        (ConnectionLostError("lost", op="order"), False),
    ):
        core = _Core(exc, lambda url: pytest.fail("no lookup expected"))
        r = _resolver(core, clock, enabled=enabled)
        with pytest.raises(type(exc)) as err:
            await _call(
                r, core, _Meta("order", [{"instId": "X", "clOrdId": "a"}], 0.1), Sending(0.0)
            )
        assert err.value.lookup is None and err.value.request is not None
        assert core.gets == [] and core.events == []


async def test_lookups_end_by_the_timeout_plus_grace_when_rest_hangs() -> None:
    clock = Clock()

    class Hanging(_Core):
        async def get_json(self, url: str, headers: Mapping[str, str] | None = None) -> Any:
            await asyncio.sleep(60)

    core = Hanging(ConnectionLostError("lost", op="cancel-order"), None)
    r = _resolver(core, clock, grace=0.3)
    t0 = time.monotonic()
    with pytest.raises(ConnectionLostError) as err:
        await _call(
            r, core, _Meta("cancel-order", [{"instId": "X", "ordId": "1"}], 0.2), Sending(t0)
        )
    assert time.monotonic() - t0 < 0.2 + 0.3 + 0.2
    assert err.value.lookup is not None and err.value.lookup.items[0].state == "lookup failed"

"""Secrets never show: not in logs (DEBUG, every logger), events, exceptions or reprs.

One run per exchange and facade goes through connect, login, orders, every kind of
failure (refused login, timeout, late reply, dropped socket, exchange errors, bad
input), re-login after a reconnect and close, with DEBUG logging captured and a
listener on every event. Then neither the API secret nor the passphrase, nor any
value derived from them that went over the wire (OKX's login ``sign``, KuCoin's URL
``sign`` and ``passphrase`` and its session-challenge answer), may appear in anything
the user could see.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import traceback
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from okxkc import kucoin as kc
from okxkc import okx
from okxkc._engine.events import EVENT_NAMES, EventEmitter
from okxkc.config import KucoinAccount, OkxAccount
from okxkc.errors import (
    AuthenticationError,
    ConnectionLostError,
    ExchangeError,
    NotExecutedError,
    PartialFailureError,
    RequestTimeoutError,
    ValidationError,
)
from okxkc.kucoin.adapter import KucoinAdapter
from okxkc.kucoin.lookup import KucoinLookups
from okxkc.okx.adapter import OkxAdapter
from okxkc.okx.lookup import OkxLookups
from okxkc.testing.kucoin import KucoinCredential, KucoinSimulator
from okxkc.testing.okx import OkxCredential, OkxSimulator

from .conftest import Facade, wait_for

KEY = "okxkc-secrets-key"
SECRET = {"okx": "SECRET-zq81-okx-7Hf3Kd", "kucoin": "SECRET-zq81-kc-Lm52Qs"}
PASSPHRASE = {"okx": "PASS-zq81-okx-Vb29", "kucoin": "PASS-zq81-kc-Rt04"}
WRONG_SECRET = "SECRET-zq81-wrong-Xy77"
WRONG_PASSPHRASE = "PASS-zq81-wrong-Pq61"
PARTNER_KEY = "SECRET-zq81-partner-Ww30"


class Capture:
    """Everything a user could see during the run, and the secret values to look for."""

    def __init__(self) -> None:
        self.log = io.StringIO()
        self.events: list[dict[str, Any]] = []
        self.errors: list[BaseException] = []
        self.reprs: list[str] = []
        self.derived: set[str] = set()  # secret-derived values that went over the wire
        self.lookups = 0  # signed REST order lookups made

    def secrets(self) -> set[str]:
        return {*SECRET.values(), *PASSPHRASE.values(), WRONG_SECRET, WRONG_PASSPHRASE} | {
            PARTNER_KEY,
            *self.derived,
        }

    def error_texts(self) -> Iterator[str]:
        for exc in self.errors:
            yield "".join(traceback.format_exception(exc))
            seen: set[int] = set()
            e: BaseException | None = exc
            while e is not None and id(e) not in seen:  # the whole chain, shown or not
                seen.add(id(e))
                yield f"{e!s} {e!r} {e.args!r}"
                if isinstance(e, ExchangeError):
                    yield repr(e.response) + repr(e.items)
                e = e.__cause__ or e.__context__

    def everything(self) -> str:
        return "\n".join(
            [
                self.log.getvalue(),
                *(repr(p) for p in self.events),
                *self.error_texts(),
                *self.reprs,
            ]
        )


@pytest.fixture
def capture(monkeypatch: pytest.MonkeyPatch) -> Iterator[Capture]:
    cap = Capture()
    handler = logging.StreamHandler(cap.log)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root, ours = logging.getLogger(), logging.getLogger("okxkc")
    levels = root.level, ours.level
    root.addHandler(handler)
    ours.addHandler(handler)
    ours.propagate = False  # each record once
    root.setLevel(logging.DEBUG)
    ours.setLevel(logging.DEBUG)

    # Spies on the adapters, to learn the secret-derived values actually sent.
    okx_auth_begin = OkxAdapter.auth_begin

    def spy_okx_auth(self: Any, *args: Any) -> Any:
        state, step = okx_auth_begin(self, *args)
        for frame in step.send:
            cap.derived.update(a["sign"] for a in json.loads(frame)["args"])
        return state, step

    kc_ws_url = KucoinAdapter.ws_url

    def spy_kc_url(self: Any, *args: Any) -> str:
        url = kc_ws_url(self, *args)
        query = parse_qs(urlsplit(url).query)
        cap.derived.update(query["sign"] + query["passphrase"])
        return url

    kc_auth_feed = KucoinAdapter.auth_feed

    def spy_kc_feed(self: Any, *args: Any) -> Any:
        step = kc_auth_feed(self, *args)
        cap.derived.update(step.send)  # the session-challenge answer
        return step

    def spy_lookup(original: Any) -> Any:
        def spy(self: Any, *args: Any) -> Any:
            url, headers = original(self, *args)
            cap.lookups += 1
            cap.derived.update(
                v for k, v in headers.items() if k.endswith(("-SIGN", "-PASSPHRASE"))
            )
            return url, headers

        return spy

    monkeypatch.setattr(OkxLookups, "lookup_request", spy_lookup(OkxLookups.lookup_request))
    monkeypatch.setattr(KucoinLookups, "lookup_request", spy_lookup(KucoinLookups.lookup_request))
    monkeypatch.setattr(OkxAdapter, "auth_begin", spy_okx_auth)
    monkeypatch.setattr(KucoinAdapter, "ws_url", spy_kc_url)
    monkeypatch.setattr(KucoinAdapter, "auth_feed", spy_kc_feed)
    try:
        yield cap
    finally:
        root.removeHandler(handler)
        ours.removeHandler(handler)
        ours.propagate = True
        root.setLevel(levels[0])
        ours.setLevel(levels[1])


@pytest.fixture
def okx_secret_sim() -> Iterator[OkxSimulator]:
    with OkxSimulator(credentials=[OkxCredential(KEY, SECRET["okx"], PASSPHRASE["okx"])]) as sim:
        yield sim


@pytest.fixture
def kucoin_secret_sim() -> Iterator[KucoinSimulator]:
    cred = KucoinCredential(KEY, SECRET["kucoin"], PASSPHRASE["kucoin"])
    with KucoinSimulator(credentials=[cred]) as sim:
        yield sim


def make(name: str, kind: str, sim: Any, secret: str, passphrase: str, **kw: Any) -> Facade:
    common: dict[str, Any] = dict(
        base_ws_url=sim.ws_url,
        base_rest_url=sim.url,
        request_timeout=5.0,
        reconnect_timeout=0.05,
        settle_time=0.3,
        resolve_grace=1.0,
        attach_event_listeners=True,  # the lifecycle log lines are part of what is checked
        **kw,
    )
    if name == "okx":
        cls: Any = okx.AsyncWebsocketAPIClient if kind == "async" else okx.WebsocketAPIClient
        client = cls(
            accounts=[{"apiKey": KEY, "apiSecret": secret, "apiPass": passphrase}], **common
        )
    else:
        cls = kc.AsyncWebsocketAPIClient if kind == "async" else kc.WebsocketAPIClient
        client = cls(api_key=KEY, api_secret=secret, api_passphrase=passphrase, **common)
    return Facade(client, kind == "async")


async def expect(cap: Capture, exc_type: type[BaseException], call: Any) -> BaseException:
    with pytest.raises(exc_type) as err:
        await call
    cap.errors.append(err.value)
    cap.reprs.append(repr(err.value))
    return err.value


def listen(cap: Capture, f: Facade) -> None:
    emitter = f.get_ws_client()

    async def on_async(payload: dict[str, Any]) -> None:
        cap.events.append(payload)

    for name in EVENT_NAMES:
        emitter.on(name, cap.events.append)
        emitter.on(name, on_async)


# -- one run per exchange ------------------------------------------------------------------
OKX_ORDER = dict(instId="BTC-USDT", tdMode="cash", side="buy", ordType="limit", px="20000", sz="1")


async def okx_run(cap: Capture, kind: str, sim: OkxSimulator) -> None:
    f = make("okx", kind, sim, SECRET["okx"], PASSPHRASE["okx"])
    listen(cap, f)
    await f.connect_ws_api()
    res = await f.submit_new_order(**OKX_ORDER, clOrdId="s1")
    cap.reprs += [repr(res), str(res), repr(res.to_dict())]
    cap.reprs.append(repr(await f.amend_order(instId="BTC-USDT", clOrdId="s1", newSz="2")))
    cap.reprs.append(repr(await f.cancel_order(instId="BTC-USDT", clOrdId="s1")))
    cap.reprs.append(repr(await f.send_ws_api_request("private", "order", {**OKX_ORDER})))
    await f.submit_new_order(**OKX_ORDER, clOrdId="dup")
    await expect(cap, ExchangeError, f.submit_new_order(**OKX_ORDER, clOrdId="dup"))
    await expect(
        cap,
        PartialFailureError,
        f.submit_multiple_orders([{**OKX_ORDER, "clOrdId": "n1"}, {**OKX_ORDER, "clOrdId": "dup"}]),
    )
    await expect(cap, ValidationError, f.submit_new_order(**{**OKX_ORDER, "sz": "1e5"}))
    # Lost replies, settled by signed REST lookups (the signatures are secrets too).
    sim.faults.swallow_next("order")
    found = await f.submit_new_order(**OKX_ORDER, timeout=0.2)
    assert found.resolved_by == "lookup"
    cap.reprs += [repr(found), repr(found.to_dict())]
    sim.faults.delay_next(0.3, "order")
    cap.reprs.append(repr(await f.submit_new_order(**OKX_ORDER, timeout=0.1)))
    await wait_for(lambda: any(e["event"] == "late_response" for e in cap.events))
    sim.faults.drop_next("order")
    await expect(cap, NotExecutedError, f.submit_new_order(**OKX_ORDER, timeout=0.3))
    sim.faults.fail_rest_next(count=1000)  # and when the lookups fail
    sim.faults.swallow_next("order")
    await expect(cap, RequestTimeoutError, f.submit_new_order(**OKX_ORDER, timeout=0.2))
    sim.faults.drop_after_execution("order")
    await expect(cap, ConnectionLostError, f.submit_new_order(**OKX_ORDER, timeout=0.3))
    sim.faults.rest_failures.clear()
    await f.submit_new_order(**OKX_ORDER)  # reconnects and logs in again: a new sign
    sim.faults.reject_next_login(count=2)  # both sockets (private, business) log in again
    sim.drop_all()
    await expect(cap, AuthenticationError, f.submit_new_order(**OKX_ORDER, timeout=1.0))
    cap.reprs += [repr(f.client), str(f.client), repr(f.client.config)]
    cap.reprs.append(repr(f.client.config.accounts))
    await f.close()
    for secret, passphrase in (
        (WRONG_SECRET, PASSPHRASE["okx"]),
        (SECRET["okx"], WRONG_PASSPHRASE),
    ):
        bad = make("okx", kind, sim, secret, passphrase)
        listen(cap, bad)
        await expect(cap, AuthenticationError, bad.connect_ws_api())
        await expect(cap, AuthenticationError, bad.submit_new_order(**OKX_ORDER))
        cap.reprs += [repr(bad.client), repr(bad.client.config)]
        await bad.close()
    cap.reprs.append(
        repr(OkxAccount(api_key=KEY, api_secret=WRONG_SECRET, api_pass=WRONG_PASSPHRASE))
    )


SPOT = dict(symbol="BTC-USDT", side="buy", type="limit", price="20000", size="0.001")
FUT = dict(symbol="XBTUSDTM", side="buy", type="limit", price="30000", size=1, leverage=5)


async def kucoin_run(cap: Capture, kind: str, sim: KucoinSimulator) -> None:
    f = make("kucoin", kind, sim, SECRET["kucoin"], PASSPHRASE["kucoin"])
    listen(cap, f)
    await f.connect_ws_api()
    res = await f.submit_new_spot_order(**SPOT, clientOid="s1")
    cap.reprs += [repr(res), str(res), repr(res.to_dict())]
    cap.reprs.append(
        repr(await f.modify_spot_order(symbol="BTC-USDT", clientOid="s1", newSize="1"))
    )
    cap.reprs.append(repr(await f.cancel_spot_order(symbol="BTC-USDT", clientOid="s1")))
    await expect(cap, ExchangeError, f.cancel_spot_order(symbol="BTC-USDT", orderId="nope1"))
    cap.reprs.append(repr(await f.send_ws_api_request("spot", "spot.order", {**SPOT})))
    await f.submit_futures_order(**FUT, clientOid="dup")
    await expect(cap, ExchangeError, f.submit_futures_order(**FUT, clientOid="dup"))
    await expect(
        cap,
        PartialFailureError,
        f.submit_multiple_futures_orders([{**FUT, "clientOid": "n1"}, {**FUT, "clientOid": "dup"}]),
    )
    await expect(cap, ValidationError, f.submit_new_spot_order(**{**SPOT, "size": "1e5"}))
    # Lost replies, settled by signed REST lookups (the signatures are secrets too).
    sim.faults.swallow_next("spot.order")
    found = await f.submit_new_spot_order(**SPOT, timeout=0.2)
    assert found.resolved_by == "lookup"
    cap.reprs += [repr(found), repr(found.to_dict())]
    sim.faults.delay_next(0.3, "spot.order")
    cap.reprs.append(repr(await f.submit_new_spot_order(**SPOT, timeout=0.1)))
    await wait_for(lambda: any(e["event"] == "late_response" for e in cap.events))
    sim.faults.drop_next("spot.order")
    await expect(cap, NotExecutedError, f.submit_new_spot_order(**SPOT, timeout=0.3))
    sim.rest_available = False  # and when the lookups fail
    sim.faults.swallow_next("spot.order")
    await expect(cap, RequestTimeoutError, f.submit_new_spot_order(**SPOT, timeout=0.2))
    sim.faults.drop_next("spot.order", process=True)
    await expect(cap, ConnectionLostError, f.submit_new_spot_order(**SPOT, timeout=0.3))
    sim.rest_available = True
    await f.submit_new_spot_order(**SPOT)  # reconnects on a freshly signed URL
    sim.faults.reject_next_login(count=2)  # both sockets (spot, futures) log in again
    sim.drop_all()
    await expect(cap, AuthenticationError, f.submit_new_spot_order(**SPOT, timeout=1.0))
    cap.reprs += [repr(f.client), str(f.client), repr(f.client.config)]
    cap.reprs.append(repr(f.client.config.accounts))
    await f.close()
    for secret, passphrase in (
        (WRONG_SECRET, PASSPHRASE["kucoin"]),
        (SECRET["kucoin"], WRONG_PASSPHRASE),
    ):
        bad = make("kucoin", kind, sim, secret, passphrase)
        listen(cap, bad)
        await expect(cap, AuthenticationError, bad.connect_ws_api())
        await expect(cap, AuthenticationError, bad.submit_new_spot_order(**SPOT))
        cap.reprs += [repr(bad.client), repr(bad.client.config)]
        await bad.close()
    cap.reprs.append(
        repr(
            KucoinAccount(
                api_key=KEY,
                api_secret=WRONG_SECRET,
                api_passphrase=WRONG_PASSPHRASE,
                partner="p1",
                partner_key=PARTNER_KEY,
            )
        )
    )


async def test_okx_secrets_appear_nowhere(
    capture: Capture, okx_secret_sim: OkxSimulator, facade_kind: str
) -> None:
    await okx_run(capture, facade_kind, okx_secret_sim)
    await check(capture)


async def test_kucoin_secrets_appear_nowhere(
    capture: Capture, kucoin_secret_sim: KucoinSimulator, facade_kind: str
) -> None:
    await kucoin_run(capture, facade_kind, kucoin_secret_sim)
    await check(capture)


async def check(cap: Capture) -> None:
    await asyncio.to_thread(EventEmitter.flush)  # plain listeners have all run
    await asyncio.sleep(0)  # and coroutine listeners queued on this loop
    # The run went where it claims: logins, re-logins and refused logins all happened
    # (OKX's sign only changes with the second, so some logins share one).
    assert len(cap.derived) >= 2
    names = {e["event"] for e in cap.events}
    assert names >= {"open", "authenticated", "response", "exception", "late_response"}
    assert names >= {"reconnect", "reconnected", "close"}
    kinds = {type(e) for e in cap.errors}
    assert kinds >= {ValidationError, ExchangeError, PartialFailureError, RequestTimeoutError}
    assert kinds >= {ConnectionLostError, AuthenticationError, NotExecutedError}
    assert cap.lookups >= 5
    assert names >= {"resolved"}
    log = cap.log.getvalue()
    assert " DEBUG " in log and " WARNING " in log and "authenticated" in log
    everything = cap.everything()
    for secret in sorted(cap.secrets()):
        for form in {secret, quote(secret, safe=""), json.dumps(secret)[1:-1]}:
            assert form not in everything, f"a secret ({secret[:10]}...) leaked"

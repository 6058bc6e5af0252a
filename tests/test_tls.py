"""TLS with a custom CA: ``ca_file`` or ``ssl_context`` apply to the websocket and
to the REST helpers (server time, instrument codes). The exchange here is the
simulator's own TLS listener (``tls=True``: wss:// and https:// with a throwaway CA
whose file is ``sim.ca_file``)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from okxkc import kucoin as kc
from okxkc import okx
from okxkc.errors import RequestTimeoutError, ValidationError
from okxkc.testing.kucoin import KucoinSimulator
from okxkc.testing.okx import OkxSimulator

from .conftest import KC_KEY, OKX_KEY, Facade

ORDER = dict(instId="BTC-USDT", tdMode="cash", side="buy", ordType="limit", px="20000", sz="0.01")
SPOT = dict(symbol="BTC-USDT", side="buy", type="limit", price="20000", size="0.001")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(params=["okx", "kucoin"])
def venue(request: pytest.FixtureRequest) -> Iterator[tuple[str, Any]]:
    sim: Any = OkxSimulator(tls=True) if request.param == "okx" else KucoinSimulator(tls=True)
    with sim:
        yield request.param, sim


def make(exchange: str, kind: str, sim: Any, **kw: Any) -> Facade:
    assert sim.ws_url.startswith("wss://") and sim.url.startswith("https://")
    opts: dict[str, Any] = {
        "base_ws_url": sim.ws_url,
        "base_rest_url": sim.url,
        "attach_event_listeners": False,
        "time_sync": True,  # the REST helper goes through TLS too
        **kw,
    }
    tls = {k: opts.pop(k) for k in ("ca_file", "ssl_context") if k in opts}
    if exchange == "okx":
        cls: Any = okx.AsyncWebsocketAPIClient if kind == "async" else okx.WebsocketAPIClient
        return Facade(cls(tls, accounts=[OKX_KEY], **opts), kind == "async")
    cls = kc.AsyncWebsocketAPIClient if kind == "async" else kc.WebsocketAPIClient
    return Facade(cls(tls, **KC_KEY, **opts), kind == "async")


async def place(exchange: str, c: Facade) -> bool:
    if exchange == "okx":  # instId: the instrument list comes over https
        return bool((await c.submit_new_order(**ORDER)).data[0].sCode == "0")
    return bool((await c.submit_new_spot_order(**SPOT)).code == "200000")


@pytest.mark.parametrize("how", ["ca_file", "ssl_context"])
async def test_wss_and_https_with_a_custom_ca(
    venue: tuple[str, Any], how: str, facade_kind: str
) -> None:
    exchange, sim = venue
    if how == "ca_file":
        c = make(exchange, facade_kind, sim, ca_file=sim.ca_file)
    else:
        ctx = ssl.create_default_context(cafile=sim.ca_file)
        c = make(exchange, facade_kind, sim, ssl_context=ctx)
    assert await place(exchange, c)
    assert sim.stats["logins_ok"] == 1
    await c.close()


async def test_without_the_ca_the_certificate_is_refused(
    venue: tuple[str, Any], facade_kind: str
) -> None:
    exchange, sim = venue
    c = make(exchange, facade_kind, sim, time_sync=False, connect_timeout=1.0)
    key = "private" if exchange == "okx" else "spot"
    with pytest.raises(RequestTimeoutError) as err:
        await c.connect_ws_api([key], timeout=1.5)
    assert "Certificate" in str(err.value) or "SSL" in str(err.value)
    assert sim.stats["logins_ok"] == 0
    await c.close()


def test_tls_options_are_checked(ca_file: str) -> None:
    with pytest.raises(ValidationError) as err:
        okx.WebsocketAPIClient({"ca_file": "/no/such/ca.pem"}, accounts=[OKX_KEY])
    assert err.value.field == "ca_file"
    with pytest.raises(ValidationError) as err:
        okx.WebsocketAPIClient({"ssl_context": "tls"}, accounts=[OKX_KEY])
    assert err.value.field == "ssl_context"
    with pytest.raises(ValidationError) as err:
        okx.WebsocketAPIClient(
            {"ca_file": ca_file, "ssl_context": ssl.create_default_context()},
            accounts=[OKX_KEY],
        )
    assert err.value.field == "ssl_context"

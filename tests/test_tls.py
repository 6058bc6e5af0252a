"""TLS with a custom CA: ``ca_file`` or ``ssl_context`` apply to the websocket and
to the REST helpers (server time, instrument codes). The exchange here is the
simulator behind a TLS proxy whose certificate a test CA (trustme) issued."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import trustme
from aiohttp import web

from okxkc import kucoin as kc
from okxkc import okx
from okxkc.errors import RequestTimeoutError, ValidationError
from okxkc.testing.kucoin import KucoinSimulator
from okxkc.testing.okx import OkxSimulator

from .conftest import KC_KEY, OKX_KEY, Facade

ORDER = dict(instId="BTC-USDT", tdMode="cash", side="buy", ordType="limit", px="20000", sz="0.01")
SPOT = dict(symbol="BTC-USDT", side="buy", type="limit", price="20000", size="0.001")


class TLSProxy:
    """wss:// and https:// on loopback in front of a plain simulator, on its own thread."""

    def __init__(self, upstream_port: int, cert: trustme.LeafCert) -> None:
        self.upstream = f"127.0.0.1:{upstream_port}"
        self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(self.ctx)
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        session = self.session
        if request.headers.get("Upgrade", "").lower() != "websocket":
            async with session.get(f"http://{self.upstream}{request.path_qs}") as up:
                return web.Response(body=await up.read(), status=up.status)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async with session.ws_connect(f"ws://{self.upstream}{request.path_qs}") as up:

            async def pump(src: Any, dst: Any) -> None:
                async for msg in src:
                    if msg.type is aiohttp.WSMsgType.TEXT:
                        await dst.send_str(msg.data)
                    elif msg.type is aiohttp.WSMsgType.BINARY:
                        await dst.send_bytes(msg.data)
                await dst.close()

            await asyncio.gather(pump(ws, up), pump(up, ws), return_exceptions=True)
        return ws

    async def _start(self) -> None:
        app = web.Application()
        self.session = aiohttp.ClientSession()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self.ctx)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _stop(self) -> None:
        await self.session.close()
        await self._runner.cleanup()

    def __enter__(self) -> TLSProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(params=["okx", "kucoin"])
def venue(request: pytest.FixtureRequest, ca: trustme.CA) -> Iterator[tuple[str, Any, TLSProxy]]:
    sim: Any = OkxSimulator() if request.param == "okx" else KucoinSimulator()
    with sim, TLSProxy(sim.port, ca.issue_cert("127.0.0.1")) as proxy:
        yield request.param, sim, proxy


def make(exchange: str, kind: str, proxy: TLSProxy, **kw: Any) -> Facade:
    opts: dict[str, Any] = {
        "base_ws_url": f"wss://127.0.0.1:{proxy.port}",
        "base_rest_url": f"https://127.0.0.1:{proxy.port}",
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
    venue: tuple[str, Any, TLSProxy], ca_file: str, how: str, facade_kind: str
) -> None:
    exchange, sim, proxy = venue
    if how == "ca_file":
        c = make(exchange, facade_kind, proxy, ca_file=ca_file)
    else:
        ctx = ssl.create_default_context(cafile=ca_file)
        c = make(exchange, facade_kind, proxy, ssl_context=ctx)
    assert await place(exchange, c)
    assert sim.stats["logins_ok"] == 1
    await c.close()


async def test_without_the_ca_the_certificate_is_refused(
    venue: tuple[str, Any, TLSProxy], facade_kind: str
) -> None:
    exchange, sim, proxy = venue
    c = make(exchange, facade_kind, proxy, time_sync=False, connect_timeout=1.0)
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

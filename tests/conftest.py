"""Shared fixtures: simulators on their own threads, and clients through both facades.

Every case that takes ``okx`` or ``kucoin`` runs twice: once through the blocking
``WebsocketAPIClient`` and once through ``AsyncWebsocketAPIClient``. The wrapper
makes both awaitable so one test body serves both.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from okxkc import kucoin as kc
from okxkc import okx
from okxkc.testing.kucoin import KucoinSimulator
from okxkc.testing.okx import OkxSimulator

OKX_KEY = {
    "apiKey": "okxkc-test-key",
    "apiSecret": "okxkc-test-secret",
    "apiPass": "okxkc-test-pass",
}
KC_KEY = {
    "api_key": "okxkc-test-key",
    "api_secret": "okxkc-test-secret",
    "api_passphrase": "okxkc-test-pass",
}


class Facade:
    """Either facade, with every method awaitable (but the plain helpers)."""

    PLAIN = frozenset({"get_ws_client", "pending_requests"})

    def __init__(self, client: Any, is_async: bool) -> None:
        self.client = client
        self.is_async = is_async
        self.kind = "async" if is_async else "sync"

    def __getattr__(self, name: str) -> Callable[..., Any]:
        fn = getattr(self.client, name)
        if not callable(fn) or name in self.PLAIN or self.is_async:
            return fn  # type: ignore[no-any-return]

        async def call(*args: Any, **kwargs: Any) -> Any:
            return fn(*args, **kwargs)

        return call


@pytest.fixture
def okx_sim() -> Iterator[OkxSimulator]:
    sim = OkxSimulator()
    with sim:
        yield sim


@pytest.fixture
def kucoin_sim() -> Iterator[KucoinSimulator]:
    sim = KucoinSimulator()
    with sim:
        yield sim


def okx_options(sim: OkxSimulator, **kw: Any) -> dict[str, Any]:
    opts: dict[str, Any] = dict(
        accounts=[OKX_KEY],
        base_ws_url=sim.ws_url,
        base_rest_url=sim.url,
        attach_event_listeners=False,
        request_timeout=5.0,
    )
    opts.update(kw)
    return opts


def kucoin_options(sim: KucoinSimulator, **kw: Any) -> dict[str, Any]:
    opts: dict[str, Any] = dict(
        KC_KEY,
        base_ws_url=sim.ws_url,
        base_rest_url=sim.url,
        attach_event_listeners=False,
        request_timeout=5.0,
    )
    opts.update(kw)
    return opts


async def _close(f: Facade) -> None:
    if f.is_async:
        await f.client.close()
    else:
        f.client.close()


@pytest.fixture(params=["sync", "async"])
async def okx_client(
    request: pytest.FixtureRequest, okx_sim: OkxSimulator
) -> AsyncIterator[Facade]:
    cls = okx.AsyncWebsocketAPIClient if request.param == "async" else okx.WebsocketAPIClient
    f = Facade(cls(**okx_options(okx_sim)), request.param == "async")
    yield f
    await _close(f)


@pytest.fixture(params=["sync", "async"])
async def kucoin_client(
    request: pytest.FixtureRequest, kucoin_sim: KucoinSimulator
) -> AsyncIterator[Facade]:
    cls = kc.AsyncWebsocketAPIClient if request.param == "async" else kc.WebsocketAPIClient
    f = Facade(cls(**kucoin_options(kucoin_sim)), request.param == "async")
    yield f
    await _close(f)


@pytest.fixture(params=["sync", "async"])
def facade_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def make_okx(kind: str, sim: OkxSimulator, **kw: Any) -> Facade:
    cls = okx.AsyncWebsocketAPIClient if kind == "async" else okx.WebsocketAPIClient
    return Facade(cls(**okx_options(sim, **kw)), kind == "async")


def make_kucoin(kind: str, sim: KucoinSimulator, **kw: Any) -> Facade:
    cls = kc.AsyncWebsocketAPIClient if kind == "async" else kc.WebsocketAPIClient
    return Facade(cls(**kucoin_options(sim, **kw)), kind == "async")


async def wait_for(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll a condition that another thread makes true (bounded)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)

"""pytest fixtures for testing your own bot against the simulated exchanges.

Installing okxkc registers this plugin with pytest (entry point ``pytest11``, name
``okxkc``), so the fixtures below are available in every test without an import.
Turn it off with ``pytest -p no:okxkc``.

A bot test is two lines::

    def test_my_bot_places_an_order(okx_client):
        assert my_bot.buy(okx_client).data[0].sCode == "0"

Fixtures (all function scope: each test gets fresh ones, stopped or closed after it):

``okx_simulator``, ``kucoin_simulator``
    A running :class:`~okxkc.testing.okx.OkxSimulator` /
    :class:`~okxkc.testing.kucoin.KucoinSimulator` on its own thread, listening on a
    free loopback port, accepting the test credentials (:data:`OKX_TEST_ACCOUNT`,
    :data:`KUCOIN_TEST_CREDENTIALS`). Inspect what your bot did with
    ``sim.received`` (every trading request, in order) and ``sim.orders(...)``;
    inject faults with ``sim.faults.drop_next()`` and friends.

``okx_client``, ``kucoin_client``
    A blocking ``WebsocketAPIClient`` pointed at the simulator above.

``async_okx_client``, ``async_kucoin_client``
    An ``AsyncWebsocketAPIClient`` pointed at the same simulator. These are plain
    (synchronous) fixtures, so they work with any async test runner
    (pytest-asyncio, anyio) and in sync tests that call ``asyncio.run(...)``.

``okx_client_options``, ``kucoin_client_options``
    The keyword arguments the four clients are built with (credentials, the
    simulator's URLs, ``request_timeout=5.0``). Override one in your
    ``conftest.py`` to change them::

        @pytest.fixture
        def okx_client_options(okx_client_options):
            return {**okx_client_options, "exp_time": 2000}

To run the simulator with other settings, override ``okx_simulator`` (or
``kucoin_simulator``) the same way; the clients follow it::

    @pytest.fixture
    def okx_simulator():
        with OkxSimulator(require_inst_id_code=True) as sim:
            yield sim

okxkc's own test suite defines fixtures named ``okx_client`` and ``kucoin_client``
in its ``conftest.py``; pytest prefers those there, and this plugin's elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

# Imports of okxkc proper wait for the first fixture that needs them: this module is
# loaded by every pytest run in an environment where okxkc is installed.
if TYPE_CHECKING:
    from okxkc.kucoin import AsyncWebsocketAPIClient as AsyncKucoinClient
    from okxkc.kucoin import WebsocketAPIClient as KucoinClient
    from okxkc.okx import AsyncWebsocketAPIClient as AsyncOkxClient
    from okxkc.okx import WebsocketAPIClient as OkxClient
    from okxkc.testing.kucoin import KucoinSimulator
    from okxkc.testing.okx import OkxSimulator

__all__ = [
    "KUCOIN_TEST_CREDENTIALS",
    "OKX_TEST_ACCOUNT",
    "async_kucoin_client",
    "async_okx_client",
    "kucoin_client",
    "kucoin_client_options",
    "kucoin_simulator",
    "okx_client",
    "okx_client_options",
    "okx_simulator",
]

#: The OKX account the simulators accept by default (``accounts=[OKX_TEST_ACCOUNT]``).
OKX_TEST_ACCOUNT: dict[str, str] = {
    "apiKey": "okxkc-test-key",
    "apiSecret": "okxkc-test-secret",
    "apiPass": "okxkc-test-pass",
}
#: The KuCoin credentials the simulators accept by default (``**KUCOIN_TEST_CREDENTIALS``).
KUCOIN_TEST_CREDENTIALS: dict[str, str] = {
    "api_key": "okxkc-test-key",
    "api_secret": "okxkc-test-secret",
    "api_passphrase": "okxkc-test-pass",
}


def _close_async_client(client: AsyncOkxClient | AsyncKucoinClient) -> None:
    """Close an async client from synchronous teardown code.

    ``AsyncWebsocketAPIClient.close()`` is a coroutine; the engine runs it on its own
    loop, so this works whether or not (and whichever) event loop the test used.
    """
    from okxkc._engine.loop import engine

    engine.run_sync(client._core.close(), "close")


# -- simulators ----------------------------------------------------------------------------


@pytest.fixture
def okx_simulator() -> Iterator[OkxSimulator]:
    """A simulated OKX exchange on its own thread, stopped after the test."""
    from okxkc.testing.okx import OkxSimulator

    with OkxSimulator() as sim:
        yield sim


@pytest.fixture
def kucoin_simulator() -> Iterator[KucoinSimulator]:
    """A simulated KuCoin exchange on its own thread, stopped after the test."""
    from okxkc.testing.kucoin import KucoinSimulator

    with KucoinSimulator() as sim:
        yield sim


# -- client options ------------------------------------------------------------------------


@pytest.fixture
def okx_client_options(okx_simulator: OkxSimulator) -> dict[str, Any]:
    """Keyword arguments of ``okx_client`` / ``async_okx_client`` (override to change)."""
    return {
        "accounts": [dict(OKX_TEST_ACCOUNT)],
        "base_ws_url": okx_simulator.ws_url,
        "base_rest_url": okx_simulator.url,
        "request_timeout": 5.0,
    }


@pytest.fixture
def kucoin_client_options(kucoin_simulator: KucoinSimulator) -> dict[str, Any]:
    """Keyword arguments of ``kucoin_client`` / ``async_kucoin_client`` (override to change)."""
    return {
        **KUCOIN_TEST_CREDENTIALS,
        "base_ws_url": kucoin_simulator.ws_url,
        "base_rest_url": kucoin_simulator.url,
        "request_timeout": 5.0,
    }


# -- clients -------------------------------------------------------------------------------


@pytest.fixture
def okx_client(okx_client_options: dict[str, Any]) -> Iterator[OkxClient]:
    """A blocking OKX client connected to ``okx_simulator``, closed after the test."""
    from okxkc.okx import WebsocketAPIClient

    client = WebsocketAPIClient(**okx_client_options)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def async_okx_client(okx_client_options: dict[str, Any]) -> Iterator[AsyncOkxClient]:
    """An awaitable OKX client connected to ``okx_simulator``, closed after the test."""
    from okxkc.okx import AsyncWebsocketAPIClient

    client = AsyncWebsocketAPIClient(**okx_client_options)
    try:
        yield client
    finally:
        _close_async_client(client)


@pytest.fixture
def kucoin_client(kucoin_client_options: dict[str, Any]) -> Iterator[KucoinClient]:
    """A blocking KuCoin client connected to ``kucoin_simulator``, closed after the test."""
    from okxkc.kucoin import WebsocketAPIClient

    client = WebsocketAPIClient(**kucoin_client_options)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def async_kucoin_client(kucoin_client_options: dict[str, Any]) -> Iterator[AsyncKucoinClient]:
    """An awaitable KuCoin client connected to ``kucoin_simulator``, closed after the test."""
    from okxkc.kucoin import AsyncWebsocketAPIClient

    client = AsyncWebsocketAPIClient(**kucoin_client_options)
    try:
        yield client
    finally:
        _close_async_client(client)

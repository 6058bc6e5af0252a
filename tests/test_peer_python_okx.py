"""python-okx, OKX's own Python SDK, unchanged, against okxkc's OKX simulator.

Its ``WsPrivateAsync`` speaks only ``wss://`` (it always passes an SSL context), so the
simulator runs its TLS listener and the SDK trusts the simulator's throwaway CA through
``SSL_CERT_FILE``, as a user would. Runs when the ``peers`` extra is installed
(``pip install 'okxkc[peers]'``), skipped otherwise; CI sets ``OKXKC_REQUIRE_PEERS=1``,
which turns a missing peer into a failure.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest


def _peer(module: str) -> Any:
    if os.environ.get("OKXKC_REQUIRE_PEERS"):
        return importlib.import_module(module)
    return pytest.importorskip(module)


_peer("trustme")
ws_private = _peer("okx.websocket.WsPrivateAsync")

from okxkc.testing.okx import OkxSimulator  # noqa: E402

KEY, SECRET, PASS = "okxkc-test-key", "okxkc-test-secret", "okxkc-test-pass"


class Peer:
    """One ``WsPrivateAsync`` and the frames its callback saw, as parsed JSON."""

    def __init__(self, url: str, secret: str = SECRET) -> None:
        # Built inside the running loop: the SDK captures asyncio.get_event_loop().
        self.sdk: Any = ws_private.WsPrivateAsync(
            apiKey=KEY, passphrase=PASS, secretKey=secret, url=url
        )
        self.frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.sdk.callback = self._on_message
        self.consumer: asyncio.Task[Any] | None = None

    def _on_message(self, message: str) -> None:
        self.frames.put_nowait(json.loads(message))

    async def start(self) -> None:
        self.consumer = await self.sdk.start()
        assert self.sdk.websocket is not None, "python-okx could not connect"

    async def next(self, timeout: float = 5.0) -> dict[str, Any]:
        return await asyncio.wait_for(self.frames.get(), timeout)

    async def reply_to(self, rid: str) -> dict[str, Any]:
        while True:
            frame = await self.next()
            if frame.get("id") == rid:
                return frame

    async def stop(self) -> None:
        await self.sdk.stop()
        if self.consumer is not None:
            await asyncio.wait_for(self.consumer, 5)


@pytest.fixture
async def sim(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[OkxSimulator]:
    async with OkxSimulator(tls=True) as s:
        assert s.ca_file is not None
        monkeypatch.setenv("SSL_CERT_FILE", s.ca_file)
        yield s


async def test_python_okx_logs_in_places_and_cancels_over_wss(sim: OkxSimulator) -> None:
    peer = Peer(sim.private_url)
    await peer.start()
    try:
        assert await peer.sdk.login() is True  # sent, not acknowledged: that is the SDK's way
        login = await peer.next()
        assert (login["event"], login["code"]) == ("login", "0")

        order = {
            "instId": "BTC-USDT",
            "tdMode": "cash",
            "side": "buy",
            "ordType": "limit",
            "px": "20000",
            "sz": "0.01",
            "clOrdId": "pyokx1",
        }
        await peer.sdk.place_order([order], id="p1")
        placed = await peer.reply_to("p1")
        assert (placed["op"], placed["code"], placed["data"][0]["sCode"]) == ("order", "0", "0")
        ord_id = placed["data"][0]["ordId"]
        in_book = sim.find_order(cl_ord_id="pyokx1")
        assert in_book is not None
        assert (in_book["ordId"], in_book["state"], in_book["px"], in_book["sz"]) == (
            ord_id,
            "live",
            "20000",
            "0.01",
        )

        # The same client id again: refused with OKX's code, nothing new in the book.
        await peer.sdk.place_order([order], id="p2")
        refused = await peer.reply_to("p2")
        assert (refused["code"], refused["data"][0]["sCode"]) == ("1", "51016")
        assert len(sim.orders()) == 1

        await peer.sdk.amend_order(
            [{"instId": "BTC-USDT", "ordId": ord_id, "newPx": "20001"}], id="a1"
        )
        amended = await peer.reply_to("a1")
        assert (amended["code"], amended["data"][0]["sCode"]) == ("0", "0")
        assert sim.find_order(ord_id=ord_id)["px"] == "20001"  # type: ignore[index]

        await peer.sdk.cancel_order([{"instId": "BTC-USDT", "ordId": ord_id}], id="c1")
        canceled = await peer.reply_to("c1")
        assert (canceled["op"], canceled["code"], canceled["data"][0]["sCode"]) == (
            "cancel-order",
            "0",
            "0",
        )
        assert sim.find_order(ord_id=ord_id)["state"] == "canceled"  # type: ignore[index]
        await peer.sdk.cancel_order([{"instId": "BTC-USDT", "ordId": ord_id}], id="c2")
        again = await peer.reply_to("c2")
        assert (again["code"], again["data"][0]["sCode"]) == ("1", "51400")
        assert [r["op"] for r in sim.received] == [
            "order",
            "order",
            "amend-order",
            "cancel-order",
            "cancel-order",
        ]
    finally:
        await peer.stop()


async def test_python_okx_wrong_secret_is_refused_at_login(sim: OkxSimulator) -> None:
    peer = Peer(sim.private_url, secret="not-the-secret")
    await peer.start()
    try:
        await peer.sdk.login()
        reply = await peer.next()
        assert (reply["event"], reply["code"]) == ("error", "60007")
        await peer.sdk.place_order(
            [
                {
                    "instId": "BTC-USDT",
                    "tdMode": "cash",
                    "side": "buy",
                    "ordType": "market",
                    "sz": "1",
                }
            ],
            id="x1",
        )
        refused = await peer.reply_to("x1")
        assert refused["code"] == "60011"  # not logged in
        assert sim.orders() == []
    finally:
        await peer.stop()

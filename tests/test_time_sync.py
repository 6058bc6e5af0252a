"""``time_sync=True`` never makes connecting depend on the exchange's REST time
endpoint: unreachable, it falls back to the last known offset (or the local clock)
with a WARNING and tries again later. Both exchanges, both facades."""

from __future__ import annotations

import logging
import socket
from typing import Any

import pytest

from okxkc.testing.kucoin import KucoinSimulator
from okxkc.testing.okx import OkxSimulator

from .conftest import make_kucoin, make_okx, wait_for

ORDER = dict(instId="BTC-USDT", tdMode="cash", side="buy", ordType="limit", px="20000", sz="0.01")
SPOT = dict(symbol="BTC-USDT", side="buy", type="limit", price="20000", size="0.001")


def dead_url() -> str:
    """An http:// URL on a loopback port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class Venue:
    def __init__(self, exchange: str, kind: str, **sim_kw: Any) -> None:
        self.exchange = exchange
        self.kind = kind
        self.sim: Any = (OkxSimulator if exchange == "okx" else KucoinSimulator)(**sim_kw)
        self.sim.start_in_thread()
        self.key = "private" if exchange == "okx" else "spot"

    def client(self, **kw: Any) -> Any:
        make = make_okx if self.exchange == "okx" else make_kucoin
        return make(self.kind, self.sim, time_sync=True, reconnect_timeout=0.05, **kw)

    async def place(self, c: Any) -> bool:
        if self.exchange == "okx":
            # by instrument code: the REST instrument list is unreachable too
            order = {k: v for k, v in ORDER.items() if k != "instId"}
            code = self.sim.inst_id_code("BTC-USDT")
            return bool((await c.submit_new_order(**order, instIdCode=code)).data[0].sCode == "0")
        return bool((await c.submit_new_spot_order(**SPOT)).code == "200000")


@pytest.fixture(params=["okx", "kucoin"])
def exchange(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_unreachable_time_endpoint_falls_back_to_the_local_clock(
    exchange: str, facade_kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    v = Venue(exchange, facade_kind)
    try:
        c = v.client(base_rest_url=dead_url(), connect_timeout=3.0)
        with caplog.at_level(logging.WARNING, logger="okxkc"):
            await c.connect_ws_api([v.key], timeout=5.0)
            assert await v.place(c)
        warned = [
            r.getMessage()
            for r in caplog.records
            if r.levelno == logging.WARNING and "server time unavailable" in r.getMessage()
        ]
        assert warned and "the local clock" in warned[0]
        await c.close()
    finally:
        v.sim.stop_thread()


async def test_time_endpoint_lost_later_keeps_the_last_known_offset(
    exchange: str, facade_kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    # The exchange's clock is 40 s ahead: a login with the local clock is refused.
    v = Venue(exchange, facade_kind, clock_offset_ms=40_000)
    try:
        c = v.client()
        await c.connect_ws_api([v.key])
        assert await v.place(c)
        client = c.client
        adapter = client._okx_adapter if exchange == "okx" else client._kc_adapter
        assert 39_000 < adapter.time_offset_ms < 41_000
        adapter.rest_base = dead_url()  # the time endpoint goes away
        with caplog.at_level(logging.WARNING, logger="okxkc"):
            v.sim.drop_all()
            await wait_for(lambda: v.sim.stats["logins_ok"] == 2)
            assert await v.place(c)  # logged in again with the last known offset
        assert v.sim.stats["logins_failed"] == 0
        assert any("last known offset (+" in r.getMessage() for r in caplog.records)
        # the sync is tried again at a later connect, not at every one
        sync = client._core.before_connect
        assert sync._retry_at > 0
        await c.close()
    finally:
        v.sim.stop_thread()

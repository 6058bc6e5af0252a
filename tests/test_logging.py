"""okxkc and stdlib logging: quiet by default, under the ``okxkc`` logger hierarchy.

okxkc never prints by itself. It logs with the standard ``logging`` module, so
what shows depends on the application's logging set-up. With none, Python's
last-resort handler prints WARNING and above to stderr, which is why these tests
run each scenario in a fresh interpreter (pytest's own log capture would hide it).

- A default client (``attach_event_listeners=True``) doing normal, successful work
  prints nothing to stdout or stderr: its lifecycle lines are INFO.
- With ``attach_event_listeners=False`` failures print nothing either: the caller
  gets the exception, and that is all.
- With the application's logging configured, the lifecycle is there, every record
  under ``okxkc`` (or the ``logger=`` given to the client).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

PRELUDE = """
import asyncio, logging, sys, time
from okxkc import kucoin, okx
from okxkc.errors import OkxkcError
from okxkc.testing.kucoin import KucoinSimulator
from okxkc.testing.okx import OkxSimulator

OKX_ACCOUNT = {"apiKey": "okxkc-test-key", "apiSecret": "okxkc-test-secret",
               "apiPass": "okxkc-test-pass"}
KC_CREDS = dict(api_key="okxkc-test-key", api_secret="okxkc-test-secret",
                api_passphrase="okxkc-test-pass")

def okx_client(sim, cls=okx.WebsocketAPIClient, **kw):
    return cls(accounts=[OKX_ACCOUNT], base_ws_url=sim.ws_url, base_rest_url=sim.url, **kw)

def kucoin_client(sim, cls=kucoin.WebsocketAPIClient, **kw):
    return cls(**KC_CREDS, base_ws_url=sim.ws_url, base_rest_url=sim.url, **kw)

def place(client, **kw):
    return client.submit_new_order(instId="BTC-USDT", tdMode="cash", side="buy",
                                   ordType="limit", px="20000", sz="0.01", **kw)

def expect_failure(fn):
    try:
        fn()
    except OkxkcError:
        return
    raise AssertionError("expected an okxkc error")
"""

SUCCESS = {
    "okx": """
with OkxSimulator() as sim:
    with okx_client(sim) as client:
        place(client, clOrdId="q1")
        client.amend_order(instId="BTC-USDT", clOrdId="q1", newPx="20010")
        client.cancel_order(instId="BTC-USDT", clOrdId="q1")

    async def main():
        async with okx_client(sim, okx.AsyncWebsocketAPIClient) as client:
            await client.connect_ws_api()
            await asyncio.gather(*(client.submit_new_order(
                instId="BTC-USDT", tdMode="cash", side="sell", ordType="limit",
                px="30000", sz="0.01") for _ in range(5)))
    asyncio.run(main())
    time.sleep(0.2)  # let any event callbacks run before the checks
""",
    "kucoin": """
with KucoinSimulator() as sim:
    with kucoin_client(sim) as client:
        res = client.submit_new_spot_order(symbol="BTC-USDT", side="buy", type="limit",
                                           price="20000", size="0.001", clientOid="q1")
        client.modify_spot_order(symbol="BTC-USDT", clientOid="q1", newPrice="20010")
        client.submit_futures_order(symbol="XBTUSDTM", side="buy", type="limit",
                                    price="20000", size=1, leverage=5, clientOid="f1")

    async def main():
        async with kucoin_client(sim, kucoin.AsyncWebsocketAPIClient) as client:
            await asyncio.gather(*(client.submit_new_spot_order(
                symbol="BTC-USDT", side="sell", type="limit", price="30000",
                size="0.001") for _ in range(5)))
    asyncio.run(main())
    time.sleep(0.2)
""",
}

# Each failure through a client with attach_event_listeners=False.
FAILURES = {
    "refused": """
with OkxSimulator() as sim, okx_client(sim, attach_event_listeners=False) as client:
    expect_failure(lambda: client.cancel_order(instId="BTC-USDT", clOrdId="nosuch"))
""",
    "invalid": """
with OkxSimulator() as sim, okx_client(sim, attach_event_listeners=False) as client:
    expect_failure(lambda: client.submit_new_order(instId="BTC-USDT", sz="-1"))
""",
    "timeout": """
with OkxSimulator() as sim, okx_client(sim, attach_event_listeners=False) as client:
    client.connect_ws_api()
    sim.faults.swallow_next()
    place(client, timeout=0.3)  # the reply is lost; the REST lookup finds the order
""",
    "login_rejected": """
with OkxSimulator() as sim, okx_client(sim, attach_event_listeners=False) as client:
    sim.faults.reject_next_login()
    expect_failure(lambda: place(client))
""",
    "kucoin_refused": """
with KucoinSimulator() as sim, kucoin_client(sim, attach_event_listeners=False) as client:
    expect_failure(lambda: client.cancel_spot_order(symbol="BTC-USDT", orderId="nosuch"))
""",
    "connection_lost": """
with OkxSimulator() as sim, okx_client(sim, attach_event_listeners=False,
                                       reconnect_timeout=0.05) as client:
    client.connect_ws_api(["private"])
    sim.faults.drop_next()
    expect_failure(lambda: place(client))
    place(client)  # after the reconnect
""",
    "late_reply": """
with OkxSimulator() as sim, okx_client(sim, attach_event_listeners=False) as client:
    client.connect_ws_api(["private"])
    sim.faults.delay_next(0.4)
    place(client, timeout=0.1)  # found by lookup; the late reply is an event
    time.sleep(0.6)  # the reply arrives after the caller gave up
""",
}


class PrintedSomething(AssertionError):
    """okxkc wrote to stdout or stderr by itself."""


def run(body: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(PRELUDE) + textwrap.dedent(body)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


@pytest.mark.parametrize("exchange", sorted(SUCCESS))
def test_default_client_doing_normal_work_prints_nothing(exchange: str) -> None:
    proc = run(SUCCESS[exchange])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr == ""


@pytest.mark.parametrize(
    "failure",
    [
        "refused",
        "invalid",
        "timeout",
        "login_rejected",
        "kucoin_refused",
        "connection_lost",
        "late_reply",
    ],
)
def test_failures_without_event_listeners_print_nothing(failure: str) -> None:
    proc = run(FAILURES[failure])
    assert proc.returncode == 0, proc.stderr
    if proc.stdout or proc.stderr:
        raise PrintedSomething(f"stdout: {proc.stdout!r}\nstderr: {proc.stderr!r}")


def test_default_listeners_report_trouble_on_stderr_without_logging_config() -> None:
    """attach_event_listeners=True is how a user asks to hear about trouble."""
    proc = run("""
        with OkxSimulator() as sim, okx_client(sim, reconnect_timeout=0.05) as client:
            client.connect_ws_api(["private"])
            sim.faults.drop_next()
            expect_failure(lambda: place(client))
            place(client)
            client.get_ws_client().flush()
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert "okx reconnect wsKey=private" in proc.stderr


COLLECT = """
import logging, os, sys
import okxkc
records = []

class Keep(logging.Handler):
    def emit(self, record):
        records.append(record)

logging.basicConfig(level=logging.DEBUG, stream=sys.stdout,
                    format="%(levelname)s %(name)s %(message)s")
logging.getLogger().addHandler(Keep())
for noisy in ("asyncio", "aiohttp"):
    logging.getLogger(noisy).setLevel(logging.WARNING)
"""

CHECK_NAMES = """
client.get_ws_client().flush()
pkg = os.path.dirname(okxkc.__file__)
ours = [r for r in records if r.pathname.startswith(pkg)]
assert ours, "okxkc logged nothing"
stray = sorted({r.name for r in ours
                if r.name != EXPECTED and not r.name.startswith("okxkc.")})
assert not stray, f"records outside the okxkc hierarchy: {stray}"
print("LOGGERS", sorted({r.name for r in ours}))
"""


def test_with_logging_configured_lifecycle_is_logged_under_okxkc() -> None:
    proc = run(
        COLLECT
        + """
EXPECTED = "okxkc"
with OkxSimulator() as sim:
    client = okx_client(sim, reconnect_timeout=0.05)
    client.connect_ws_api(["private"])
    sim.faults.drop_next()
    expect_failure(lambda: place(client))
    place(client)
    client.close()
"""
        + CHECK_NAMES
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for line in (
        "INFO okxkc okx open wsKey=private",
        "INFO okxkc okx authenticated wsKey=private",
        "WARNING okxkc okx reconnect wsKey=private",
        "INFO okxkc okx reconnected wsKey=private",
        "INFO okxkc okx close wsKey=private",
    ):
        assert line in out, out
    assert "'okxkc'" in out.split("LOGGERS", 1)[1]


def test_logger_option_receives_the_lifecycle() -> None:
    proc = run(
        COLLECT
        + """
EXPECTED = "mybot.okx"
with OkxSimulator() as sim:
    client = okx_client(sim, logger=logging.getLogger("mybot.okx"))
    place(client)
    client.close()
"""
        + CHECK_NAMES
    )
    assert proc.returncode == 0, proc.stderr
    assert "INFO mybot.okx okx open wsKey=private" in proc.stdout
    assert "INFO mybot.okx okx close wsKey=private" in proc.stdout
    assert "INFO okxkc okx" not in proc.stdout

"""``python -m okxkc``: --version, demo, sim and call, run in a subprocess as a user would."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import queue
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

import pytest

from okxkc import okx
from okxkc._version import __version__
from okxkc.cli import parse_extra, parse_params
from okxkc.errors import ValidationError
from okxkc.kucoin.operations import OPERATIONS as KUCOIN_OPERATIONS
from okxkc.okx.operations import OPERATIONS as OKX_OPERATIONS
from okxkc.testing.kucoin import KucoinSimulator
from okxkc.testing.okx import OkxSimulator

OKX_OPS = {op.method: op for op in OKX_OPERATIONS}
KUCOIN_OPS = {op.method: op for op in KUCOIN_OPERATIONS}
TEST_CREDS = ("okxkc-test-key", "okxkc-test-secret", "okxkc-test-pass")
ORDER = ["instId=BTC-USDT", "tdMode=cash", "side=buy", "ordType=limit", "px=20000", "sz=0.01"]


def okxkc(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "okxkc", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def env_for(exchange: str, sim: Any, creds: tuple[str, str, str] = TEST_CREDS) -> dict[str, str]:
    """This process's environment, minus any okxkc settings, plus ``sim``'s URLs and ``creds``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKXKC_")}
    prefix = f"OKXKC_{exchange.upper()}_"
    env.update(
        {
            prefix + "API_KEY": creds[0],
            prefix + "API_SECRET": creds[1],
            prefix + "API_PASSPHRASE": creds[2],
            prefix + "WS_URL": sim.ws_url,
            prefix + "REST_URL": sim.url,
        }
    )
    return env


@pytest.fixture
def okx_sim() -> Iterator[OkxSimulator]:
    with OkxSimulator() as sim:
        yield sim


@pytest.fixture
def kucoin_sim() -> Iterator[KucoinSimulator]:
    with KucoinSimulator() as sim:
        yield sim


# -- --version and demo ----------------------------------------------------------------------


def test_version() -> None:
    proc = okxkc("--version", timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"okxkc {__version__}"


def test_no_command_is_a_usage_error() -> None:
    proc = okxkc(timeout=30)
    assert proc.returncode == 2
    assert "usage: okxkc" in proc.stderr


def test_demo_runs_both_exchanges_through_both_facades() -> None:
    proc = okxkc("demo")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    header = next(line for line in out.splitlines() if line.startswith("exchange"))
    assert header.split() == ["exchange", "facade", "operation", "result", "round", "trip"]
    rows = [line.split() for line in out.splitlines() if line.startswith(("okx ", "kucoin "))]
    pairs = {(r[0], r[1]) for r in rows}
    assert pairs == {("okx", "sync"), ("okx", "async"), ("kucoin", "sync"), ("kucoin", "async")}
    operations = {r[2] for r in rows}
    assert {"submit_spread_order", "mass_cancel_spread_orders", "amend_multiple_orders"} <= (
        operations
    )
    assert {"submit_margin_order", "submit_multiple_futures_orders"} <= operations
    assert {"submit_uta_order", "amend_uta_order", "cancel_uta_order"} <= operations
    assert out.count("(expected)") == 4
    assert "UNEXPECTED" not in out
    assert "calls," in out.splitlines()[-1] and "4 expected failures" in out.splitlines()[-1]
    assert not proc.stderr.strip()


# -- sim -------------------------------------------------------------------------------------


class Child:
    """``python -m okxkc ARGS`` in the background; its stdout read line by line (bounded waits)."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "okxkc", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def read_line(self, timeout: float = 20) -> str:
        line = self.lines.get(timeout=timeout)
        assert line is not None, "the process ended"
        return line

    def stop(self, sig: int = signal.SIGINT, timeout: float = 20) -> tuple[int, str]:
        """Send ``sig`` and wait; returns the exit code and stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self._reader.join(5)
            assert self.proc.stdout is not None and self.proc.stderr is not None
            self.proc.stdout.close()
            err = self.proc.stderr.read()
            self.proc.stderr.close()
        return code, err


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_sim_serves_given_credentials_until_signalled(sig: signal.Signals) -> None:
    port = free_port()
    child = Child(
        *("sim", "okx", "--port", str(port)),
        *("--api-key", "cli-key", "--api-secret", "cli-secret", "--api-passphrase", "cli-pass"),
    )
    try:
        assert child.read_line() == f"okx simulator listening on http://127.0.0.1:{port}\n"
        client = okx.WebsocketAPIClient(
            accounts=[{"apiKey": "cli-key", "apiSecret": "cli-secret", "apiPass": "cli-pass"}],
            base_ws_url=f"ws://127.0.0.1:{port}",
            base_rest_url=f"http://127.0.0.1:{port}",
            attach_event_listeners=False,
            request_timeout=10,
        )
        with client:
            client.connect_ws_api()
            res = client.submit_new_order(
                instId="BTC-USDT", tdMode="cash", side="buy", ordType="market", sz="1"
            )
        assert res.data[0].sCode == "0"
        while (line := child.read_line()) != "Ctrl-C to stop.\n":
            assert "test credentials" not in line  # explicit credentials are not echoed
    finally:
        code, err = child.stop(sig)
    assert code == 0, err
    assert "Traceback" not in err


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sim_both_prints_one_listening_line_each_and_the_test_credentials() -> None:
    child = Child("sim", "--fast")
    lines: list[str] = []
    try:
        while not lines or not lines[-1].startswith("Ctrl-C"):
            lines.append(child.read_line())
    finally:
        code, err = child.stop()
    assert code == 0, err
    listening = [line for line in lines if " simulator listening on " in line]
    assert [line.split()[0] for line in listening] == ["okx", "kucoin"]
    ports = {line.rsplit(":", 1)[1].strip() for line in listening}
    assert len(ports) == 2
    assert sum("okxkc-test-key" in line and "okxkc-test-pass" in line for line in lines) == 2
    assert sum("base_ws_url=" in line for line in lines) == 2


def read_until_ready(child: Child) -> list[str]:
    lines: list[str] = []
    while not lines or not lines[-1].startswith("Ctrl-C"):
        lines.append(child.read_line())
    return lines


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize(
    ("exchange", "time_path"), [("okx", "/api/v5/public/time"), ("kucoin", "/api/v1/timestamp")]
)
def test_sim_tls_prints_the_ca_file_clients_trust(exchange: str, time_path: str) -> None:
    pytest.importorskip("trustme")
    child = Child("sim", exchange, "--tls")
    try:
        lines = read_until_ready(child)
        listening = next(line for line in lines if " simulator listening on " in line)
        url = listening.split(" on ", 1)[1].strip()
        assert url.startswith("https://127.0.0.1:")
        assert any('base_ws_url="wss://127.0.0.1:' in line for line in lines)
        ca_line = next(line for line in lines if "certificate authority" in line)
        ca_file = ca_line.rsplit(": ", 1)[1].strip()
        assert ca_file.endswith(".pem") and os.path.exists(ca_file)
        trusted = ssl.create_default_context(cafile=ca_file)
        with urllib.request.urlopen(url + time_path, context=trusted) as r:
            assert json.load(r)["code"] in ("0", "200000")
        with pytest.raises(urllib.error.URLError) as refused:
            urllib.request.urlopen(url + time_path, context=ssl.create_default_context())
        assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value)
    finally:
        code, err = child.stop()
    assert code == 0, err
    assert not os.path.exists(ca_file)  # the throwaway CA goes with the simulator


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sim_okx_sprd_times_reach_spread_and_mass_cancel_replies() -> None:
    child = Child("sim", "okx", "--sprd-times")
    try:
        lines = read_until_ready(child)
        listening = next(line for line in lines if " simulator listening on " in line)
        ws_base = listening.split(" on ", 1)[1].strip().replace("http://", "ws://")
        reply = asyncio.run(_sprd_mass_cancel(ws_base))
        assert reply["code"] == "0" and reply["data"] == [{"result": True}]
        assert int(reply["outTime"]) >= int(reply["inTime"]) > 0
    finally:
        code, err = child.stop()
    assert code == 0, err


async def _sprd_mass_cancel(ws_base: str) -> dict[str, Any]:
    import aiohttp

    ts = str(int(time.time()))
    mac = hmac.new(TEST_CREDS[1].encode(), f"{ts}GET/users/self/verify".encode(), hashlib.sha256)
    login = {
        "apiKey": TEST_CREDS[0],
        "passphrase": TEST_CREDS[2],
        "timestamp": ts,
        "sign": base64.b64encode(mac.digest()).decode(),
    }
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(ws_base + "/ws/v5/business") as ws,
    ):
        await ws.send_json({"op": "login", "args": [login]})
        assert (await ws.receive_json(timeout=5))["code"] == "0"
        await ws.send_json({"id": "m1", "op": "sprd-mass-cancel", "args": [{}]})
        reply: dict[str, Any] = await ws.receive_json(timeout=5)
        return reply


def test_okx_only_sim_option_refuses_kucoin() -> None:
    proc = okxkc("sim", "kucoin", "--sprd-times", timeout=30)
    assert proc.returncode == 2
    assert "okxkc sim okx --sprd-times" in proc.stderr


def test_sim_refuses_partial_credentials() -> None:
    proc = okxkc("sim", "okx", "--api-key", "only-the-key", timeout=30)
    assert proc.returncode == 2
    assert "--api-secret" in proc.stderr


# -- call ------------------------------------------------------------------------------------


def test_call_places_an_order_and_prints_the_reply(okx_sim: OkxSimulator) -> None:
    proc = okxkc(
        "call", "okx", "submit_new_order", *ORDER, "clOrdId=123", env=env_for("okx", okx_sim)
    )
    assert proc.returncode == 0, proc.stderr
    reply = json.loads(proc.stdout)
    assert reply["op"] == "order"
    assert reply["data"][0]["sCode"] == "0"
    assert reply["data"][0]["clOrdId"] == "123"
    sent = okx_sim.received[-1]["args"][0]
    assert sent["px"] == "20000" and sent["sz"] == "0.01"  # decimals stay text
    assert sent["clOrdId"] == "123"  # a text field that looks like a number stays text
    assert okx_sim.find_order(ord_id=reply["data"][0]["ordId"]) is not None


def test_call_batch_takes_a_json_list(okx_sim: OkxSimulator) -> None:
    item = '"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "limit", "sz": "1"'
    orders = f'[{{{item}, "px": 20000.10}}, {{{item}, "px": "19000"}}]'
    proc = okxkc(
        "call", "okx", "submit_multiple_orders", "orders=" + orders, env=env_for("okx", okx_sim)
    )
    assert proc.returncode == 0, proc.stderr
    assert [d["sCode"] for d in json.loads(proc.stdout)["data"]] == ["0", "0"]
    # A JSON number keeps its exact text: 20000.10 is sent as "20000.10".
    assert [a["px"] for a in okx_sim.received[-1]["args"]] == ["20000.10", "19000"]


def test_call_with_a_bad_field_is_a_validation_error(okx_sim: OkxSimulator) -> None:
    env = env_for("okx", okx_sim)
    proc = okxkc("call", "okx", "submit_new_order", *ORDER, "colour=blue", env=env)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: ValidationError: colour")
    proc = okxkc("call", "okx", "submit_new_order", *ORDER[:-1], "sz=lots", env=env)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: ValidationError: sz")
    assert okx_sim.received == []  # nothing was sent


def test_call_exchange_refusal_exits_1_with_the_typed_error(okx_sim: OkxSimulator) -> None:
    env = env_for("okx", okx_sim)
    args = ["call", "okx", "cancel_order", "instId=BTC-USDT", "ordId=1"]
    proc = okxkc(*args, env=env)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: ExchangeError: [51400]")
    assert json.loads(proc.stdout)["data"][0]["sCode"] == "51400"  # the reply, for the record


def test_call_bad_credentials_is_an_authentication_error(okx_sim: OkxSimulator) -> None:
    env = env_for("okx", okx_sim, ("okxkc-test-key", "wrong-secret", "okxkc-test-pass"))
    proc = okxkc("call", "okx", "cancel_order", "instId=BTC-USDT", "ordId=1", env=env)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: AuthenticationError:")


def test_call_missing_credential_names_the_variable(okx_sim: OkxSimulator) -> None:
    env = env_for("okx", okx_sim)
    del env["OKXKC_OKX_API_PASSPHRASE"]
    proc = okxkc("call", "okx", "submit_new_order", *ORDER, env=env)
    assert proc.returncode == 2
    assert "OKXKC_OKX_API_PASSPHRASE" in proc.stderr
    assert "OKXKC_OKX_API_KEY" not in proc.stderr


def test_call_options_override_the_environment(okx_sim: OkxSimulator) -> None:
    env = env_for("okx", okx_sim)
    env["OKXKC_OKX_WS_URL"] = "ws://127.0.0.1:1"
    env["OKXKC_OKX_REST_URL"] = "http://127.0.0.1:1"
    args = ["call", "okx", "submit_new_order", *ORDER[:3]]
    options = ["--ws-url", okx_sim.ws_url, "--rest-url", okx_sim.url, "--timeout", "10"]
    # Options may also sit between key=value arguments.
    proc = okxkc(*args, *options, *ORDER[3:], env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["data"][0]["sCode"] == "0"


def test_call_kucoin_futures_order(kucoin_sim: KucoinSimulator) -> None:
    proc = okxkc(
        "call",
        "kucoin",
        "submit_futures_order",
        "symbol=XBTUSDTM",
        "side=buy",
        "type=limit",
        "price=20000",
        "size=1",
        "leverage=5",
        "clientOid=cli-1",
        "reduceOnly=false",
        env=env_for("kucoin", kucoin_sim),
    )
    assert proc.returncode == 0, proc.stderr
    reply = json.loads(proc.stdout)
    assert reply["code"] == "200000" and reply["data"]["clientOid"] == "cli-1"
    assert reply["userRateLimit"]["limit"] > 0
    sent = kucoin_sim.received[-1]["args"]
    assert sent["price"] == "20000" and sent["size"] == 1 and sent["reduceOnly"] is False


def test_call_lists_operations_from_the_tables() -> None:
    for exchange, ops in (("okx", OKX_OPS), ("kucoin", KUCOIN_OPS)):
        proc = okxkc("call", exchange, "--help", timeout=30)
        assert proc.returncode == 0
        assert all(method in proc.stdout for method in ops)
    proc = okxkc("call", "okx", "amend_order", "--help", timeout=30)
    assert "newPx" in proc.stdout and "cxlOnFail" in proc.stdout


def test_call_unknown_operation_is_a_usage_error() -> None:
    proc = okxkc("call", "okx", "buy_the_dip", timeout=30)
    assert proc.returncode == 2
    assert "invalid choice" in proc.stderr


# -- key=value parsing (in process) ------------------------------------------------------------


def test_parse_params_reads_param_kinds() -> None:
    op = OKX_OPS["submit_new_order"]
    params = parse_params(
        op, ["px=20000", "sz=1e-3", "clOrdId=007", "reduceOnly=true", "instIdCode=100001"]
    )
    assert params == {
        "px": "20000",
        "sz": "1e-3",  # raw text; the validator refuses it, naming sz
        "clOrdId": "007",
        "reduceOnly": True,
        "instIdCode": 100001,
    }
    assert parse_params(op, ["tag=a=b"]) == {"tag": "a=b"}


def test_parse_params_batch_and_lists() -> None:
    batch = parse_params(OKX_OPS["submit_multiple_orders"], ['orders=[{"px": 20000.10}]'])
    assert batch == {"orders": [{"px": Decimal("20000.10")}]}
    with pytest.raises(ValidationError) as err:
        parse_params(OKX_OPS["submit_multiple_orders"], ["orders=[{oops"])
    assert err.value.field == "orders"
    with pytest.raises(ValidationError) as err:
        parse_params(OKX_OPS["submit_multiple_orders"], ["instId=BTC-USDT"])
    assert err.value.field == "instId"
    ids = parse_params(KUCOIN_OPS["cancel_multiple_futures_orders"], ['orderIdsList=["a","b"]'])
    assert ids == {"orderIdsList": ["a", "b"]}


def test_parse_params_refuses_unknown_and_malformed() -> None:
    op = OKX_OPS["cancel_order"]
    with pytest.raises(ValidationError) as err:
        parse_params(op, ["colour=blue"])
    assert err.value.field == "colour"
    for bad in (["ordId"], ["=1"], ["ordId=1", "ordId=2"]):
        with pytest.raises(ValueError):
            parse_params(op, bad)
    assert parse_extra(["a=1", "b=true", "c=x", "d=[1]"]) == {
        "a": "1",
        "b": True,
        "c": "x",
        "d": [1],
    }


def test_main_in_process_reports_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    from okxkc.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["call", "okx", "cancel_order", "ordId"])
    assert exit_.value.code == 2
    assert "expected key=value" in capsys.readouterr().err


def test_sim_port_in_use_exits_1() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        start = time.monotonic()
        proc = okxkc("sim", "okx", "--port", str(port), timeout=30)
    assert proc.returncode == 1
    assert "cannot listen" in proc.stderr
    assert time.monotonic() - start < 30


# -- the demo's judging (in process) -----------------------------------------------------------


def test_demo_flags_unplanned_outcomes_and_stops(okx_sim: OkxSimulator) -> None:
    from okxkc import demo
    from okxkc.errors import ExchangeError, PartialFailureError

    ex = demo.okx_exchange(okx_sim)
    order = {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "market", "sz": "1"}

    def scenario(ids: demo.Ids) -> demo.Scenario:
        yield demo.call("cancel_order", instId="BTC-USDT", ordId="1").expecting(
            ExchangeError, "51400"
        )
        yield demo.call("submit_new_order", **order).expecting(ExchangeError, "51016")
        yield demo.call("submit_new_order", **order)  # not reached

    def wrong_type(ids: demo.Ids) -> demo.Scenario:
        yield demo.call("cancel_order", instId="BTC-USDT", ordId="1").expecting(
            PartialFailureError, "51400"
        )

    with ex.sync_client(**ex.options) as client:
        rows = demo.drive_sync(ex, client, scenario(demo.Ids()))
        rows += demo.drive_sync(ex, client, wrong_type(demo.Ids()))
    assert [(r.operation, r.ok) for r in rows] == [
        ("cancel_order", True),
        ("submit_new_order", False),  # succeeded where a failure was planned
        ("cancel_order", False),  # ExchangeError, not the PartialFailureError planned
    ]
    assert rows[0].result.startswith("ExchangeError 51400") and rows[0].expected_failure
    assert "UNEXPECTED" in rows[1].result and "UNEXPECTED" in rows[2].result
    assert demo.summary(rows) == "3 calls, 0 ok, 1 expected failures, 2 UNEXPECTED: demo failed"
    table = demo.render_table(rows)
    assert len({len(line.rstrip()) for line in table[:2]}) == 1  # header and rule align

"""``python -m okxkc``: the demo, the simulators and --version, run as a user would."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys

from okxkc import okx
from okxkc._version import __version__


def test_version() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "okxkc", "--version"], capture_output=True, text=True, timeout=30
    )
    assert out.stdout.strip() == f"okxkc {__version__}"


def test_demo_runs_both_exchanges() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "okxkc", "demo"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "round trip" in out.stdout and "KuCoin" in out.stdout and "OKX" in out.stdout
    assert "0 unexpected" in out.stdout


def test_sim_serves_given_credentials_until_interrupted() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "okxkc",
            "sim",
            "okx",
            "--port",
            str(port),
            "--api-key",
            "K1",
            "--api-secret",
            "S1",
            "--api-passphrase",
            "P1",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert (
            proc.stdout.readline().strip() == f"okx simulator listening on http://127.0.0.1:{port}"
        )
        c = okx.WebsocketAPIClient(
            accounts=[{"apiKey": "K1", "apiSecret": "S1", "apiPass": "P1"}],
            base_ws_url=f"ws://127.0.0.1:{port}",
            base_rest_url=f"http://127.0.0.1:{port}",
            attach_event_listeners=False,
        )
        res = c.submit_new_order(
            instId="BTC-USDT", tdMode="cash", side="buy", ordType="market", sz="1"
        )
        assert res.data[0].sCode == "0"
        c.close()
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(15) == 0
        if proc.stdout is not None:
            proc.stdout.close()

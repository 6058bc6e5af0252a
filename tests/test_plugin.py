"""The pytest plugin (``okxkc.testing.pytest_plugin``) as a user meets it.

okxkc's own ``conftest.py`` defines ``okx_client`` and ``kucoin_client`` and would
shadow the plugin's fixtures here, so the plugin is exercised the way a user's
project uses it: a separate directory with its own test files and no conftest of
ours, run by ``python -m pytest`` in a subprocess. The plugin must arrive through
the ``pytest11`` entry point of the installed package, not through ``-p``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

from .conftest import Facade

ROOT = Path(__file__).resolve().parent.parent
# The pytest files shown in the README (and in README text waiting to be merged).
DOC_TESTS = [
    block
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    if doc.exists()
    for block in re.findall(r"```py\n(.*?)```", doc.read_text(), re.S)
    if "\ndef test_" in "\n" + block
]

# A user's bot and its tests: each test is the fixture plus one or two lines.
USER_TESTS = """
import asyncio

import pytest

from okxkc.errors import ClientClosedError

SEEN = {}


def place(client, cl_ord_id):
    return client.submit_new_order(instId="BTC-USDT", tdMode="cash", side="buy",
                                   ordType="limit", px="20000", sz="0.01", clOrdId=cl_ord_id)


def test_okx_client_places_an_order(okx_client, okx_simulator):
    assert place(okx_client, "u1").data[0].sCode == "0"
    assert okx_simulator.find_order(cl_ord_id="u1")["state"] == "live"
    SEEN["okx"] = okx_client


def test_clients_are_closed_after_their_test():
    with pytest.raises(ClientClosedError):
        place(SEEN["okx"], "u2")


def test_each_test_gets_a_fresh_simulator(okx_client, okx_simulator):
    assert okx_simulator.orders() == []
    place(okx_client, "u3")
    assert [o["clOrdId"] for o in okx_simulator.orders()] == ["u3"]


def test_async_okx_client_in_a_sync_test(async_okx_client):
    res = asyncio.run(async_okx_client.submit_new_order(
        instId="BTC-USDT", tdMode="cash", side="sell", ordType="limit", px="30000", sz="0.01"))
    assert res.data[0].ordId


@pytest.mark.asyncio
async def test_async_okx_client_under_pytest_asyncio(async_okx_client, okx_simulator):
    await async_okx_client.submit_new_order(instId="BTC-USDT", tdMode="cash", side="buy",
                                            ordType="limit", px="20000", sz="0.01", clOrdId="a1")
    res = await async_okx_client.cancel_order(instId="BTC-USDT", clOrdId="a1")
    assert res.data[0].sCode == "0"
    assert okx_simulator.find_order(cl_ord_id="a1")["state"] == "canceled"


def test_kucoin_client_places_an_order(kucoin_client, kucoin_simulator):
    res = kucoin_client.submit_new_spot_order(symbol="BTC-USDT", side="buy", type="limit",
                                              price="20000", size="0.001", clientOid="k1")
    assert kucoin_simulator.find_order(client_oid="k1")["orderId"] == res.data.orderId


@pytest.mark.asyncio
async def test_async_kucoin_client_under_pytest_asyncio(async_kucoin_client):
    res = await async_kucoin_client.submit_new_spot_order(
        symbol="BTC-USDT", side="sell", type="limit", price="30000", size="0.001")
    assert res.data.orderId and res.rate_limit is not None
"""

# Overriding the plugin's fixtures in a conftest, as the plugin's docstring shows.
USER_CONFTEST = """
import pytest

from okxkc.testing.okx import OkxSimulator


@pytest.fixture
def okx_simulator():
    with OkxSimulator(require_inst_id_code=True) as sim:
        yield sim


@pytest.fixture
def okx_client_options(okx_client_options):
    return {**okx_client_options, "request_timeout": 2.5}
"""

USER_OVERRIDE_TESTS = """
def test_overrides_reach_the_client(okx_client, okx_simulator):
    assert okx_simulator.require_inst_id_code is True
    assert okx_client.config.request_timeout == 2.5
    # the client still resolves instId to instIdCode, which this simulator insists on
    res = okx_client.submit_new_order(instId="BTC-USDT", tdMode="cash", side="buy",
                                      ordType="limit", px="20000", sz="0.01")
    assert res.data[0].sCode == "0"
"""


def _run_pytest(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (root / "pytest.ini").write_text("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    # PYTHONPATH is kept: the child must import this checkout's okxkc, not another
    # installed copy (the documented bot tests use the checkout's API).
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run(
        # hypothesis' plugin is not needed here and costs a second and a half per run
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:hypothesispytest",
            *args,
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_plugin_is_registered_as_a_pytest11_entry_point() -> None:
    plugins = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert plugins.get("okxkc") == "okxkc.testing.pytest_plugin", (
        "the okxkc pytest11 entry point is missing: reinstall okxkc (pip install -e .)"
    )


def test_plugin_fixtures_in_a_users_project(tmp_path: Path) -> None:
    (tmp_path / "test_bot.py").write_text(textwrap.dedent(USER_TESTS))
    override = tmp_path / "overridden"
    override.mkdir()
    (override / "conftest.py").write_text(textwrap.dedent(USER_CONFTEST))
    (override / "test_override.py").write_text(textwrap.dedent(USER_OVERRIDE_TESTS))
    proc = _run_pytest(tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "8 passed" in proc.stdout, out


def test_documented_bot_tests_pass(tmp_path: Path) -> None:
    assert DOC_TESTS, "the README shows how to test a bot with the plugin"
    for i, block in enumerate(DOC_TESTS):
        (tmp_path / f"test_doc_{i}.py").write_text(block)
    proc = _run_pytest(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    count = sum(len(re.findall(r"^def test_", block, re.M)) for block in DOC_TESTS)
    assert f"{count} passed" in proc.stdout, proc.stdout


def test_fixtures_are_listed_for_users(tmp_path: Path) -> None:
    proc = _run_pytest(tmp_path, "--fixtures")
    assert proc.returncode in (0, 5), proc.stdout + proc.stderr
    for name in (
        "okx_simulator",
        "kucoin_simulator",
        "okx_client",
        "async_okx_client",
        "kucoin_client",
        "async_kucoin_client",
        "okx_client_options",
        "kucoin_client_options",
    ):
        assert f"\n{name}" in proc.stdout, name
    assert "okxkc.testing.pytest_plugin" in proc.stdout


def test_plugin_can_be_turned_off(tmp_path: Path) -> None:
    (tmp_path / "test_off.py").write_text("def test_x(okx_client):\n    pass\n")
    proc = _run_pytest(tmp_path, "-p", "no:okxkc")
    assert proc.returncode == 1
    assert "fixture 'okx_client' not found" in proc.stdout


def test_okxkc_conftest_shadows_the_plugin_here(okx_client: Facade, kucoin_client: Facade) -> None:
    """In okxkc's own suite, conftest's (sync/async parametrised) fixtures win, as documented."""
    assert isinstance(okx_client, Facade)
    assert isinstance(kucoin_client, Facade)

"""Soak at CI size: concurrent callers through both facades on both exchanges while the
simulator drops sockets, delays and swallows replies at random.

The workload is ``benchmarks/soak.py`` (which runs it at 100,000+ requests). Every
call must end in a result or a typed okxkc error within its deadline (+ the lookup
grace, + slack), the exchange must see each client order id at most once, a call that
said "not sent" must never have reached it, one that said "not executed" must have left
no order, lost replies must be settled by REST lookup (none left unknown where an expiry
exists), nothing may stay pending, and closing the client must leave no engine task and
no thread behind.
"""

from __future__ import annotations

import asyncio
import importlib.util
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from okxkc._engine.events import EventEmitter
from okxkc._engine.loop import engine
from okxkc.testing.kucoin import KucoinSimulator
from okxkc.testing.okx import OkxSimulator

_PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "soak.py"
_spec = importlib.util.spec_from_file_location("okxkc_benchmarks_soak", _PATH)
assert _spec is not None and _spec.loader is not None
soak: Any = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = soak  # dataclasses look their module up
_spec.loader.exec_module(soak)

REQUESTS = 1500
TIMEOUT = 0.5
# Drops are rare enough that most swallowed replies outlive their socket's next drop
# and surface as timeouts; a third of the delayed replies come after the deadline. With
# this seed the first 1,200 decisions hold 3 drops, 16 swallows and 32 delays.
FAULTS = dict(drop=0.002, swallow=0.015, delay=0.03, delay_range=(0.0, 0.75), seed=42)


def _engine_tasks() -> set[asyncio.Task[Any]]:
    async def snapshot() -> set[asyncio.Task[Any]]:
        me = asyncio.current_task()
        return {t for t in asyncio.all_tasks() if t is not me and not t.done()}

    return engine.submit(snapshot()).result(5)


@pytest.mark.soak
@pytest.mark.parametrize("exchange", ["okx", "kucoin"])
def test_soak_every_call_ends_definitely(exchange: str, facade_kind: str) -> None:
    sim: Any = (
        OkxSimulator(rate_limits=False) if exchange == "okx" else KucoinSimulator(rate_limits=False)
    )
    with sim:
        # the process-wide engine and event threads exist before the snapshot
        assert engine.loop.is_running() and EventEmitter.flush()
        threads_before = set(threading.enumerate())
        tasks_before = _engine_tasks()

        result = soak.run(
            exchange,
            facade_kind,
            sim.ws_url,
            sim.url,
            REQUESTS,
            concurrency=48,
            threads=16,
            timeout=TIMEOUT,
            prefix=f"k{facade_kind[0]}",
            before_faults=lambda: sim.faults.random(**FAULTS),
        )
        sim.faults.clear()
        # run() closed the client: nothing of it may be left running
        leaked_tasks = _engine_tasks() - tasks_before
        leaked_threads = set(threading.enumerate()) - threads_before
        seen = soak.received_ids(exchange, sim.received)
        id_field = "clOrdId" if exchange == "okx" else "clientOid"
        existing = {o.get(id_field) for o in sim.orders()}
        injected = dict(sim.faults.injected)

    assert leaked_tasks == set()
    assert leaked_threads == set()
    assert result.violations(seen, existing) == {
        "hung calls": 0,
        "duplicates": 0,
        "untyped errors": 0,
        "calls without an outcome": 0,
        "said not sent, yet received": 0,
        "succeeded, yet not received": 0,
        "said not executed, yet placed": 0,
        "pending after the run": 0,
    }, (result.outcomes, result.untyped)
    assert result.worst_overshoot <= soak.SLACK
    # the faults happened, and the REST lookups settled the lost replies
    assert injected.get("drop", 0) > 0 and injected.get("swallow", 0) > 0
    assert injected.get("delay", 0) > 0
    assert result.outcomes["ok (found by lookup)"] > 0
    assert result.outcomes["ok"] > REQUESTS * 0.7
    assert sum(result.outcomes.values()) == REQUESTS
    unknown = result.unknown_by_kind()
    # every OKX place carries an expiry: nothing stays unknown; on KuCoin only futures
    # orders (no allowMaxTimeWindow) may
    assert not unknown.get("okx order") and not unknown.get("okx batch"), unknown
    assert not unknown.get("kucoin spot"), unknown
    allowed = {
        "ok",
        "ok (found by lookup)",
        "NotExecutedError",
        "ConnectionLostError",
        "RequestTimeoutError(sent)",
        "RequestTimeoutError(not sent)",
    }
    assert set(result.outcomes) <= allowed, result.outcomes


@pytest.mark.soak
def test_soak_benchmark_command_runs() -> None:
    """``benchmarks/soak.py`` (simulators in a child process) at a tiny size."""
    proc = subprocess.run(
        [
            sys.executable,
            str(_PATH),
            "--requests",
            "300",
            "--exchange",
            "kucoin",
            "--facade",
            "sync",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "hung calls:" in proc.stdout and "duplicates:" in proc.stdout
    assert "| kucoin | kucoin spot | on |" in proc.stdout  # the before/after table
    assert "RSS:" in proc.stdout and proc.stdout.rstrip().endswith("within its deadline")

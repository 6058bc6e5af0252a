"""The benchmark harness runs end to end (a smoke test; no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

RUN = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"


@pytest.mark.timeout(300)
def test_harness_smoke_run_writes_results(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(RUN), "--smoke", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "### Targets" in proc.stdout
    res = json.loads((tmp_path / "latest.json").read_text())
    assert res["meta"]["mode"] == "smoke"
    clients = res["clients"]
    for name in ("floor-uvloop", "floor-thread-sync", "okxkc-sync", "okxkc-async", "okxkc-engine"):
        assert not clients[name]["errors"], clients[name]["errors"]
        assert clients[name]["p50_us"] > 0
        assert clients[name]["cold_ms"] > 0
    for name in ("kucoin-okxkc-sync", "kucoin-okxkc-async", "kucoin-floor-thread-sync"):
        assert clients[name]["p50_us"] > 0
    assert all(v for v in clients["okxkc-async"]["throughput"].values())
    assert all(v for v in clients["okxkc-sync"]["throughput"].values())
    # every okxkc client ends with an empty pending map
    for name in ("okxkc-sync", "okxkc-async", "okxkc-engine"):
        assert [r["pending_after"] for r in clients[name]["rounds"]] == [0]
    memory = res["memory"]
    assert {memory[k]["pending_after"] for k in ("engine", "async", "sync")} == {0}
    assert res["imports"]["okxkc"]["median_ms"] > 0
    assert {t["result"] for t in res["targets"]} <= {"pass", "miss", "n/a"}
    assert (tmp_path / "latency.png").stat().st_size > 0

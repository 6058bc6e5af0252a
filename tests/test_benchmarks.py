"""The benchmark harness runs end to end at a tiny size (no timing is asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
RUN = BENCH / "run.py"


@pytest.mark.timeout(300)
def test_harness_smoke_run_writes_summary_raw_and_report(tmp_path: Path) -> None:
    out, raw_dir = tmp_path / "out", tmp_path / "raw"
    proc = subprocess.run(
        [sys.executable, str(RUN), "--smoke", "--out", str(out), "--raw", str(raw_dir)],
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "### Targets" in proc.stdout
    assert "### README table" in proc.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["meta"]["mode"] == "smoke"
    assert summary["meta"]["git"]
    assert summary["meta"]["cpus"] >= 1
    clients = summary["clients"]
    for name in ("floor-uvloop", "floor-thread-sync", "okxkc-sync", "okxkc-async", "okxkc-engine"):
        assert not clients[name]["errors"], clients[name]["errors"]
        assert 0 < clients[name]["p50_us"] <= clients[name]["p99_us"]
        assert clients[name]["cpu_us_per_order"] > 0
        assert clients[name]["cold_ms"] > 0
        assert clients[name]["samples"] == 200
    # okxkc's three modes on KuCoin, each with the floor it is compared with
    for name in (
        "kucoin-okxkc-sync",
        "kucoin-okxkc-async",
        "kucoin-okxkc-engine",
        "kucoin-floor-thread-sync",
        "kucoin-floor-uvloop",
    ):
        assert not clients[name]["errors"], clients[name]["errors"]
        assert clients[name]["p50_us"] > 0
        assert clients[name]["samples"] == 100
    assert all(v for v in clients["okxkc-async"]["throughput"].values())
    assert set(clients["okxkc-sync"]["throughput"]) == {"1", "4"}
    assert all(v for v in clients["okxkc-sync"]["throughput"].values())
    for name in ("okxkc-sync", "okxkc-async", "okxkc-engine", "kucoin-okxkc-engine"):
        assert clients[name]["pending_after"] == [0]
    memory = summary["memory"]
    assert {memory[k]["pending_after"] for k in ("engine", "async", "sync")} == {0}
    assert summary["imports"]["okxkc"]["median_ms"] > 0
    rows = {t["target"]: t for t in summary["targets"]}
    assert {t["result"] for t in rows.values()} <= {"pass", "miss", "n/a"}
    cpu = rows["engine-loop client CPU per order <= 1.5x bare uvloop floor's"]
    assert cpu["measured"] == clients["okxkc-engine"]["cpu_us_per_order"]
    # no peers in a smoke run: the SDK comparison says so instead of passing
    assert rows["KuCoin engine-loop p50 <= 0.5x kucoin-universal-sdk"]["result"] == "n/a"
    # the committed summary is compact; every sample stays in the raw file
    assert (out / "summary.json").stat().st_size < 40_000
    raw = json.loads((raw_dir / "raw.json").read_text())
    assert len(raw["rounds"]["okxkc-engine"][0]["latency_us"]) == 200
    assert (raw_dir / "report.md").read_text().startswith("okxkc benchmarks (smoke)")
    assert (out / "latency.png").stat().st_size > 0
    # report.py renders the same tables from the saved summary alone
    again = subprocess.run(
        [sys.executable, str(BENCH / "report.py"), str(out / "summary.json")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout.strip() == proc.stdout.strip()


def _summary(**p50: float) -> dict[str, object]:
    """A summary with the given p50s (µs); CPU per order = p50 / 2, no throughput."""
    clients = {
        name.replace("_", "-"): {
            "p50_us": v,
            "cpu_us_per_order": v / 2,
            "throughput": {},
            "cold_ms": None,
        }
        for name, v in p50.items()
    }
    return {"clients": clients, "memory": {}, "imports": {}}


def test_targets_compare_each_okxkc_kucoin_mode_with_the_official_sdk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(BENCH))
    for name in ("targets", "catalog"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    import targets

    rows = {
        t["target"]: t
        for t in targets.evaluate(
            _summary(
                kucoin_okxkc_sync=200,
                kucoin_okxkc_async=260,
                kucoin_okxkc_engine=150,
                kucoin_sdk=500,
                okxkc_engine=130,
                floor_uvloop=100,
            )
        )
    }
    sdk = {
        mode: rows[f"KuCoin {mode} p50 <= 0.5x kucoin-universal-sdk"]
        for mode in ("blocking", "awaitable", "engine-loop")
    }
    assert [sdk[m]["result"] for m in ("blocking", "awaitable", "engine-loop")] == [
        "pass",
        "miss",
        "pass",
    ]
    assert sdk["awaitable"]["ratio"] == pytest.approx(0.52)
    assert sdk["blocking"]["limit"] == 250
    # engine-loop against the bare uvloop floor: p50 1.3x misses 1.25x, CPU 1.3x meets 1.5x
    assert rows["engine-loop p50 <= 1.25x bare uvloop floor (1)"]["result"] == "miss"
    cpu = rows["engine-loop client CPU per order <= 1.5x bare uvloop floor's"]
    assert (cpu["result"], cpu["measured"], cpu["reference"]) == ("pass", 65, 50)
    # a reference that was not measured is n/a, never a pass
    assert rows["engine-loop p50 <= 0.85x Node okx-api"]["result"] == "n/a"


def _peer_cache() -> Path:
    return Path(os.environ.get("OKXKC_BENCH_CACHE") or BENCH / ".cache")


@pytest.mark.timeout(600)
def test_kucoin_official_sdk_peer_trades_uta_orders_from_its_own_environment(
    tmp_path: Path,
) -> None:
    cache = _peer_cache()
    installed = (cache / "kucoin-sdk-venv" / ".kucoin-universal-sdk-1.3.2").exists()
    if not installed and not os.environ.get("OKXKC_REQUIRE_PEERS"):
        pytest.skip(
            f"kucoin-universal-sdk is not installed under {cache} (OKXKC_REQUIRE_PEERS=1 installs it)"
        )
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            str(RUN),
            "--smoke",
            "--clients",
            "kucoin-sdk,kucoin-okxkc-engine",
            "--no-memory",
            "--no-imports",
            "--cache",
            str(cache),
            "--out",
            str(out),
            "--raw",
            str(tmp_path / "raw"),
        ],
        capture_output=True,
        text=True,
        timeout=580,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    sdk = summary["clients"]["kucoin-sdk"]
    assert not sdk["errors"], sdk["errors"]
    assert sdk["samples"] == 100
    assert sdk["p50_us"] > 0 and sdk["cpu_us_per_order"] > 0
    assert summary["meta"]["versions"]["kucoin-universal-sdk"] == "1.3.2"
    rows = {t["target"]: t for t in summary["targets"]}
    engine = rows["KuCoin engine-loop p50 <= 0.5x kucoin-universal-sdk"]
    assert engine["result"] in ("pass", "miss")
    assert engine["reference"] == sdk["p50_us"]


@pytest.mark.timeout(600)
def test_sdist_ships_the_harness_and_summary_but_no_plot_or_raw_results(tmp_path: Path) -> None:
    root = BENCH.parent
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--outdir", str(tmp_path), str(root)],
        capture_output=True,
        text=True,
        timeout=580,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    with tarfile.open(next(tmp_path.glob("okxkc-*.tar.gz"))) as sdist:
        members = {m.name.split("/", 1)[1]: m.size for m in sdist.getmembers() if "/" in m.name}
    shipped = [n for n in members if n.startswith("benchmarks/")]
    assert "benchmarks/run.py" in shipped
    assert "benchmarks/peer_kucoin_sdk.py" in shipped
    assert not [
        n for n in shipped if n.endswith(".png") or "/.cache/" in n or n.endswith("raw.json")
    ]
    assert (root / "benchmarks/results/latency.png").exists()  # committed, just not shipped
    assert [n for n in shipped if n.startswith("benchmarks/results/")] == [
        "benchmarks/results/summary.json"
    ]
    assert members["benchmarks/results/summary.json"] < 40_000

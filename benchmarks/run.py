"""okxkc benchmarks: OKX ``order`` round trips against floors and peers, one run, one table.

    python benchmarks/run.py            # full run (several minutes)
    python benchmarks/run.py --quick    # under a minute
    python benchmarks/run.py --smoke    # seconds: okxkc + floors, tiny counts (the test)

One server process (okxkc's simulated OKX and KuCoin, fast mode: no request log,
no rate limits; loopback; ``benchmarks/_server.py``) and then each client in its
own fresh process, one after another, round after round:

- floors, a bare aiohttp + msgspec client: (1) on its own loop, no thread, stock
  asyncio and uvloop; (2) on a background loop thread called from the main
  thread through ``run_coroutine_threadsafe(...).result()``; (2b) the same
  awaited from the caller's own loop through ``wrap_future``;
- okxkc: (3) the sync facade, (4) the async facade from the caller's own loop
  and in engine-loop mode (``okxkc.run``);
- peers: (5) ccxt.pro okx ``create_order_ws`` (installed into its own venv under
  ``benchmarks/.cache/``), (6) the Node SDK okx-api ``submitNewOrder`` (npm
  installed under ``benchmarks/.cache/node``, when node is on the machine).
  A peer that cannot be installed or run is recorded with the reason.

Figures: sequential round trip p50/p99 and CPU per order, pipelined throughput
(async 1/10/100/1000 in flight; sync 1/8/32 threads), cold start (construct ->
first order acknowledged, fresh process), memory growth of okxkc over many orders
(pending map empty after), ``import`` times, and KuCoin ``spot.order`` for okxkc
against a bare KuCoin floor. Medians over rounds; every okxkc figure as a ratio
to the floors of the same run; the targets of the benchmark issue as pass/miss.

Writes ``benchmarks/results/latest.json`` and ``benchmarks/results/latency.png``
(``--out`` for another folder).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / ".cache"
CCXT_VERSION = "4.5.90"
OKX_API_VERSION = "3.2.3"

ASYNC_LEVELS = [1, 10, 100, 1000]
SYNC_LEVELS = [1, 8, 32]

# name -> (label, exchange, kind, runner); kind "async" | "sync"; runner "py" | "ccxt" | "node"
CLIENTS: dict[str, tuple[str, str, str, str]] = {
    "floor-asyncio": ("floor (1): bare aiohttp+msgspec, own loop (asyncio)", "okx", "async", "py"),
    "floor-uvloop": ("floor (1): bare aiohttp+msgspec, own loop (uvloop)", "okx", "async", "py"),
    "floor-thread-sync": (
        "floor (2): bare on a loop thread, run_coroutine_threadsafe().result()",
        "okx",
        "sync",
        "py",
    ),
    "floor-thread-async": (
        "floor (2b): bare on a loop thread, wrap_future from the caller's loop",
        "okx",
        "async",
        "py",
    ),
    "okxkc-sync": ("okxkc sync facade", "okx", "sync", "py"),
    "okxkc-async": ("okxkc async facade (caller's own loop)", "okx", "async", "py"),
    "okxkc-engine": ("okxkc engine-loop mode (okxkc.run)", "okx", "async", "py"),
    "ccxt-asyncio": ("ccxt.pro okx create_order_ws (asyncio)", "okx", "async", "ccxt"),
    "ccxt-uvloop": ("ccxt.pro okx create_order_ws (uvloop)", "okx", "async", "ccxt"),
    "node": ("Node okx-api WebsocketAPIClient.submitNewOrder", "okx", "async", "node"),
    "kucoin-floor-uvloop": ("KuCoin floor (1): bare, own loop (uvloop)", "kucoin", "async", "py"),
    "kucoin-floor-thread-sync": (
        "KuCoin floor (2): bare on a loop thread, sync",
        "kucoin",
        "sync",
        "py",
    ),
    "kucoin-floor-thread-async": (
        "KuCoin floor (2b): bare on a loop thread, wrap_future",
        "kucoin",
        "async",
        "py",
    ),
    "kucoin-okxkc-sync": ("okxkc KuCoin sync facade", "kucoin", "sync", "py"),
    "kucoin-okxkc-async": (
        "okxkc KuCoin async facade (caller's own loop)",
        "kucoin",
        "async",
        "py",
    ),
}
OKXKC = ("okxkc-sync", "okxkc-async", "okxkc-engine")
# Each okxkc client's own floor (the least its design can cost) and the raw floor.
FLOOR_OF = {
    "okxkc-sync": "floor-thread-sync",
    "okxkc-async": "floor-thread-async",
    "okxkc-engine": "floor-uvloop",
    "kucoin-okxkc-sync": "kucoin-floor-thread-sync",
    "kucoin-okxkc-async": "kucoin-floor-thread-async",
}
RAW_FLOOR = {"okx": "floor-uvloop", "kucoin": "kucoin-floor-uvloop"}

MODES: dict[str, dict[str, Any]] = {
    "smoke": {
        "rounds": 1,
        "orders": 200,
        "warmup": 20,
        "level_orders": 300,
        "level_seconds": 0.2,
        "async_levels": [1, 10],
        "sync_levels": [1, 4],
        "kucoin_orders": 100,
        "cold_extra": 0,
        "memory_orders": 1000,
        "memory_facade_orders": 500,
        "import_runs": 1,
        "peers": False,
        "clients": [c for c, v in CLIENTS.items() if v[3] == "py"],
    },
    "quick": {
        "rounds": 1,
        "orders": 1500,
        "warmup": 200,
        "level_orders": 3000,
        "level_seconds": 0.25,
        "async_levels": ASYNC_LEVELS,
        "sync_levels": SYNC_LEVELS,
        "kucoin_orders": 500,
        "cold_extra": 0,
        "memory_orders": 50_000,
        "memory_facade_orders": 3000,
        "import_runs": 3,
        "peers": True,
        "clients": [c for c in CLIENTS if c != "ccxt-uvloop"],
    },
    "full": {
        "rounds": 3,
        "orders": 20_000,
        "warmup": 1000,
        "level_orders": 20_000,
        "level_seconds": 1.0,
        "async_levels": ASYNC_LEVELS,
        "sync_levels": SYNC_LEVELS,
        "kucoin_orders": 10_000,
        "cold_extra": 3,
        "memory_orders": 1_000_000,
        "memory_facade_orders": 50_000,
        "import_runs": 9,
        "peers": True,
        "clients": list(CLIENTS),
    },
}


class Pinning:
    """CPU affinity: the server on the last CPU, every client on the others.

    On a small machine the kernel otherwise often wakes the server on the client's
    CPU, where it preempts the client in the middle of its send; which client that
    hurts depends on how much CPU it burns, so the comparison would be skewed.
    """

    def __init__(self, enabled: bool) -> None:
        self.server: set[int] | None = None
        self.clients: set[int] | None = None
        if enabled and hasattr(os, "sched_getaffinity"):
            cpus = sorted(os.sched_getaffinity(0))
            if len(cpus) >= 2:
                self.server = {cpus[-1]}
                self.clients = set(cpus[:-1])

    def _preexec(self, cpus: set[int] | None) -> Callable[[], None] | None:
        if cpus is None:
            return None
        return lambda: os.sched_setaffinity(0, cpus)

    def server_preexec(self) -> Callable[[], None] | None:
        return self._preexec(self.server)

    def client_preexec(self) -> Callable[[], None] | None:
        return self._preexec(self.clients)

    def describe(self) -> dict[str, list[int]] | None:
        if self.server is None or self.clients is None:
            return None
        return {"server": sorted(self.server), "clients": sorted(self.clients)}


PIN = Pinning(False)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def loadavg() -> float | None:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except OSError:
        return None


# -- peers: installed into their own environments under benchmarks/.cache -----------------


def ensure_ccxt() -> Path:
    """The ccxt venv's python (created and ccxt installed on first use)."""
    venv = CACHE / "ccxt-venv"
    py = venv / "bin" / "python"
    marker = venv / f".ccxt-{CCXT_VERSION}"
    if py.exists() and marker.exists():
        return py
    log(f"installing ccxt=={CCXT_VERSION} into {venv.relative_to(ROOT)} (once) ...")
    CACHE.mkdir(parents=True, exist_ok=True)
    if not py.exists():
        _check([sys.executable, "-m", "venv", "--clear", str(venv)], "creating the ccxt venv", 300)
    _check(
        [
            str(py),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            f"ccxt=={CCXT_VERSION}",
        ],
        "pip install ccxt",
        900,
    )
    marker.touch()
    return py


def ensure_node() -> tuple[str, dict[str, str]]:
    """(node executable, environment with NODE_PATH), installing okx-api on first use."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not installed on this machine")
    where = CACHE / "node"
    modules = where / "node_modules"
    if not (modules / "okx-api" / "package.json").exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is not installed on this machine")
        log(f"installing okx-api@{OKX_API_VERSION} into {where.relative_to(ROOT)} (once) ...")
        where.mkdir(parents=True, exist_ok=True)
        pkg = where / "package.json"
        if not pkg.exists():
            pkg.write_text(json.dumps({"name": "okxkc-bench-peers", "private": True}))
        _check(
            [npm, "install", "--no-audit", "--no-fund", f"okx-api@{OKX_API_VERSION}"],
            "npm install okx-api",
            900,
            cwd=where,
        )
    return node, {**os.environ, "NODE_PATH": str(modules)}


def _check(cmd: Sequence[str], what: str, timeout: float, cwd: Path | None = None) -> None:
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RuntimeError(f"{what} failed: {exc}") from None
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"{what} failed (exit {proc.returncode}): {' | '.join(tail)}")


# -- the server ---------------------------------------------------------------------------


class Server:
    """The one simulator process (OKX and KuCoin on one uvloop loop)."""

    def __init__(self, workdir: Path) -> None:
        ready = workdir / "server.json"
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "_server.py"), str(ready)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=PIN.server_preexec(),
        )
        deadline = time.monotonic() + 60
        while not ready.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                self.stop()
                raise RuntimeError(f"the simulator did not start: {err[-500:]}")
            time.sleep(0.05)
        self.info: dict[str, Any] = json.loads(ready.read_text())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# -- running one client process ------------------------------------------------------------


class Runner:
    def __init__(self, server: Server, cfg: dict[str, Any], workdir: Path) -> None:
        self.server = server
        self.cfg = cfg
        self.workdir = workdir
        self.skipped: dict[str, str] = {}
        self.peer_cmd: dict[str, tuple[list[str], dict[str, str] | None]] = {}
        self.versions: dict[str, str] = {}
        self.n = 0

    def setup_peers(self, names: Sequence[str]) -> None:
        if any(CLIENTS[n][3] == "ccxt" for n in names):
            try:
                py = ensure_ccxt()
                self.peer_cmd["ccxt"] = ([str(py), str(HERE / "peer_ccxt.py")], None)
            except RuntimeError as exc:
                self._skip_runner("ccxt", str(exc), names)
        if any(CLIENTS[n][3] == "node" for n in names):
            try:
                node, env = ensure_node()
                self.peer_cmd["node"] = ([node, str(HERE / "peer_node.js")], env)
                self.versions["node"] = subprocess.run(
                    [node, "--version"], capture_output=True, text=True, check=False
                ).stdout.strip()
            except RuntimeError as exc:
                self._skip_runner("node", str(exc), names)

    def _skip_runner(self, runner: str, reason: str, names: Sequence[str]) -> None:
        log(f"skipping {runner}: {reason}")
        for n in names:
            if CLIENTS[n][3] == runner:
                self.skipped[n] = reason

    def plan(self, name: str, **overrides: Any) -> dict[str, Any]:
        cfg = self.cfg
        _, exchange, kind, _ = CLIENTS.get(name, ("", "okx", "async", "py"))
        info = self.server.info
        plan: dict[str, Any] = {
            "okx_port": info["okx_port"],
            "kucoin_port": info["kucoin_port"],
            "inst_id_code": info["inst_id_code"],
            "instrument": info["instrument"],
            "warmup": cfg["warmup"],
        }
        if exchange == "kucoin":
            plan["orders"] = cfg["kucoin_orders"]
        else:
            plan["orders"] = cfg["orders"]
            plan["levels"] = (
                (cfg["async_levels"] if kind == "async" else cfg["sync_levels"])
                if cfg.get("throughput", True)
                else []
            )
            plan["level_orders"] = cfg["level_orders"]
            plan["level_seconds"] = cfg["level_seconds"]
        plan.update(overrides)
        return plan

    def run(self, name: str, plan: dict[str, Any]) -> dict[str, Any]:
        """Run one client process; its result, or ``{"error": ...}``."""
        runner = CLIENTS[name][3] if name in CLIENTS else "py"
        if runner == "py":
            cmd, env = [sys.executable, str(HERE / "clients.py")], None
        else:
            cmd, env = self.peer_cmd[runner]
        self.n += 1
        result_file = self.workdir / f"result-{self.n}.json"
        seq = plan.get("orders", 0) + plan.get("warmup", 0)
        levels = plan.get("levels") or []
        budget = (
            60
            + seq * 0.01
            + len(levels) * (1.25 * plan.get("level_seconds", 0) + 2 * 15)
            + plan.get("memory_orders", 0) * 0.002
            + plan.get("memory_facade_orders", 0) * 0.004
        )
        load = loadavg()
        t = time.monotonic()
        try:
            proc = subprocess.run(
                [*cmd, name, json.dumps(plan), str(result_file)],
                capture_output=True,
                text=True,
                timeout=budget,
                env=env,
                check=False,
                preexec_fn=PIN.client_preexec(),
            )
        except subprocess.TimeoutExpired:
            return {"error": f"did not finish within {budget:.0f}s", "loadavg": load}
        wall = time.monotonic() - t
        if proc.returncode != 0 or not result_file.exists():
            tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
            return {"error": f"exit {proc.returncode}: {tail}", "loadavg": load}
        out: dict[str, Any] = json.loads(result_file.read_text())
        result_file.unlink()
        out["loadavg"] = load
        out["wall_s"] = wall
        return out


# -- statistics -----------------------------------------------------------------------------


def pct(sorted_samples: Sequence[float], q: float) -> float:
    if not sorted_samples:
        return float("nan")
    k = min(len(sorted_samples) - 1, max(0, round(q * (len(sorted_samples) - 1))))
    return sorted_samples[k]


def med(values: Sequence[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def summarize_round(res: dict[str, Any]) -> dict[str, Any]:
    """One process's result without the raw samples (percentiles instead)."""
    out = {k: v for k, v in res.items() if k != "latency_us"}
    lat = res.get("latency_us")
    if lat:
        s = sorted(lat)
        out.update(
            p50_us=pct(s, 0.50),
            p90_us=pct(s, 0.90),
            p99_us=pct(s, 0.99),
            p999_us=pct(s, 0.999),
            mean_us=statistics.fmean(s),
            n=len(s),
        )
    return out


def cdf_points(samples: Sequence[float], points: int = 400) -> list[list[float]]:
    s = sorted(samples)
    if not s:
        return []
    out = []
    for i in range(points + 1):
        q = i / points
        out.append([round(pct(s, q), 2), q])
    return out


# -- the run ------------------------------------------------------------------------------


def measure_imports(runs: int) -> dict[str, Any]:
    """``import X`` wall time in fresh interpreters: first run dropped, median of the rest."""
    mods = ["aiohttp", "okxkc", "okxkc.okx"]
    code = "import time; t = time.perf_counter(); import {m}; print(time.perf_counter() - t)"
    samples: dict[str, list[float]] = {m: [] for m in mods}
    for i in range(runs + 1):
        for m in mods:  # interleaved, so drift hits every module alike
            proc = subprocess.run(
                [sys.executable, "-c", code.format(m=m)],
                capture_output=True,
                text=True,
                check=False,
                preexec_fn=PIN.client_preexec(),
            )
            if proc.returncode == 0 and i > 0:
                samples[m].append(float(proc.stdout.strip()) * 1000)
    return {
        m: {"median_ms": med(v), "min_ms": min(v) if v else None, "samples_ms": v}
        for m, v in samples.items()
    }


def run_all(cfg: dict[str, Any], mode: str, workdir: Path) -> dict[str, Any]:
    names = [n for n in cfg["clients"] if cfg["peers"] or CLIENTS[n][3] == "py"]
    started = time.time()
    load_start = loadavg()
    log(f"{mode} run: {len(names)} clients x {cfg['rounds']} round(s); load average {load_start}")
    log("import times ...")
    imports = measure_imports(cfg["import_runs"]) if cfg.get("imports", True) else {}
    server = Server(workdir)
    runner = Runner(server, cfg, workdir)
    try:
        runner.setup_peers(names)
        active = [n for n in names if n not in runner.skipped]
        rounds: dict[str, list[dict[str, Any]]] = {n: [] for n in active}
        samples: dict[str, list[float]] = {n: [] for n in active}
        for r in range(cfg["rounds"]):
            for name in active:
                log(f"round {r + 1}/{cfg['rounds']}: {name} ...")
                plan = runner.plan(name)
                res = runner.run(name, plan)
                if res.get("error"):
                    log(f"  {name}: {res['error']}")
                if res.get("hung") and "throughput" not in res and plan.get("levels"):
                    # Hung in the sequential phase: the pipelined runs in a fresh process.
                    more = runner.run(name, runner.plan(name, warmup=200, orders=0))
                    for key in ("throughput", "throughput_cpu_us"):
                        if key in more:
                            res[key] = more[key]
                    if more.get("error"):
                        log(f"  {name} (pipelined only): {more['error']}")
                        res["error"] += f"; pipelined-only rerun: {more['error']}"
                samples[name].extend(res.get("latency_us") or [])
                rounds[name].append(summarize_round(res))
        # Extra cold starts: construct -> first order in a fresh process, nothing else.
        for _ in range(cfg["cold_extra"]):
            for name in active:
                if CLIENTS[name][1] != "okx":
                    continue
                res = runner.run(name, runner.plan(name, warmup=0, orders=0, levels=[]))
                if "cold_s" in res:
                    rounds[name].append({"cold_s": res["cold_s"], "cold_only": True})
        memory: dict[str, Any] = {"error": "not measured (--no-memory)"}
        if cfg.get("memory", True):
            log(
                f"memory: {cfg['memory_orders']} orders in engine-loop mode, "
                f"{cfg['memory_facade_orders']} through each facade ..."
            )
            memory = runner.run(
                "okxkc-memory",
                runner.plan(
                    "okxkc-memory",
                    memory_orders=cfg["memory_orders"],
                    memory_facade_orders=cfg["memory_facade_orders"],
                    in_flight=100,
                    threads=8,
                ),
            )
    finally:
        server.stop()

    clients: dict[str, Any] = {}
    for name in active:
        label, exchange, kind, runner_kind = CLIENTS[name]
        rs = rounds[name]
        timed = [x for x in rs if not x.get("cold_only")]
        levels = cfg["async_levels"] if kind == "async" else cfg["sync_levels"]
        entry: dict[str, Any] = {
            "label": label,
            "exchange": exchange,
            "kind": kind,
            "p50_us": med([x.get("p50_us") for x in timed]),
            "p99_us": med([x.get("p99_us") for x in timed]),
            "cpu_us_per_order": med([x.get("cpu_us_per_order") for x in timed]),
            "cold_ms": _ms(med([x.get("cold_s") for x in rs])),
            "cold_samples": len([x for x in rs if x.get("cold_s") is not None]),
            "throughput": {
                str(lv): med([(x.get("throughput") or {}).get(str(lv)) for x in timed])
                for lv in levels
            }
            if exchange == "okx"
            else {},
            "throughput_cpu_us": {
                str(lv): med([(x.get("throughput_cpu_us") or {}).get(str(lv)) for x in timed])
                for lv in levels
            }
            if exchange == "okx"
            else {},
            "errors": sorted({x["error"] for x in rs if x.get("error")}),
            "rounds": rs,
        }
        if runner_kind != "py":
            entry["version"] = next((x.get("version") for x in rs if x.get("version")), None)
        clients[name] = entry
    versions = {**runner.versions, **_py_versions()}
    for name, c in clients.items():
        if c.get("version"):
            versions["okx-api" if name == "node" else "ccxt"] = c["version"]
    result = {
        "meta": {
            "mode": mode,
            "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
            "seconds": round(time.time() - started, 1),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "loadavg_start": load_start,
            "loadavg_end": loadavg(),
            "server_loop": server.info.get("loop"),
            "cpu_pinning": PIN.describe(),
            "git": _git(),
            "versions": versions,
            "plan": {k: v for k, v in cfg.items() if k != "clients"},
            "order": "OKX op order: IOC buy 0.01 BTC-USDT @ 20000 by instIdCode; "
            "KuCoin spot.order: IOC limit buy 0.01 BTC-USDT @ 20000",
        },
        "skipped": runner.skipped,
        "clients": clients,
        "memory": memory,
        "imports": imports,
        "cdf": {n: cdf_points(samples[n]) for n in active if samples[n]},
    }
    result["targets"] = evaluate_targets(result)
    return result


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def _py_versions() -> dict[str, str]:
    code = (
        "import json, importlib.metadata as m\n"
        "out = {}\n"
        "for p in ('okxkc', 'aiohttp', 'msgspec', 'uvloop'):\n"
        "    try: out[p] = m.version(p)\n"
        "    except Exception: pass\n"
        "print(json.dumps(out))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    try:
        return dict(json.loads(proc.stdout))
    except ValueError:
        return {}


def _git() -> str | None:
    """HEAD, and whether okxkc/ differs from it (with a short hash of that diff)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        diff = subprocess.run(
            ["git", "diff", "HEAD", "--", "okxkc"], cwd=ROOT, capture_output=True
        ).stdout
    except OSError:
        return None
    if not head:
        return None
    if not diff:
        return head
    import hashlib

    return f"{head} + uncommitted okxkc/ changes (diff {hashlib.sha1(diff).hexdigest()[:8]})"


# -- targets --------------------------------------------------------------------------------


def evaluate_targets(res: dict[str, Any]) -> list[dict[str, Any]]:
    c = res["clients"]

    def get(name: str, key: str, level: int | None = None) -> float | None:
        entry = c.get(name)
        if entry is None:
            return None
        if level is not None:
            v: float | None = entry["throughput"].get(str(level))
            return v
        return entry.get(key)

    ccxt_names = [n for n in ("ccxt-asyncio", "ccxt-uvloop") if get(n, "p50_us") is not None]
    ccxt_p50 = min((get(n, "p50_us") or 0 for n in ccxt_names), default=None)
    ccxt_which = min(ccxt_names, key=lambda n: get(n, "p50_us") or 0) if ccxt_names else None
    out: list[dict[str, Any]] = []

    def target(
        what: str,
        measured: float | None,
        reference: float | None,
        factor: float,
        ref_name: str,
        unit: str,
        higher_is_better: bool = False,
        strict: bool = False,
    ) -> None:
        if measured is None or reference is None:
            out.append({"target": what, "result": "n/a", "detail": f"{ref_name} not measured"})
            return
        limit = reference * factor
        ratio = measured / reference if reference else float("inf")
        if higher_is_better:
            ok = measured >= limit
        else:
            ok = measured < limit if strict else measured <= limit
        out.append(
            {
                "target": what,
                "measured": measured,
                "reference": reference,
                "reference_name": ref_name,
                "limit": limit,
                "ratio": ratio,
                "unit": unit,
                "result": "pass" if ok else "miss",
            }
        )

    target(
        "sync p50 <= 1.15x sync architecture floor (2)",
        get("okxkc-sync", "p50_us"),
        get("floor-thread-sync", "p50_us"),
        1.15,
        "floor-thread-sync p50",
        "us",
    )
    target(
        "async p50 <= 1.15x async floor (2b)",
        get("okxkc-async", "p50_us"),
        get("floor-thread-async", "p50_us"),
        1.15,
        "floor-thread-async p50",
        "us",
    )
    target(
        "async p50 <= 0.75x ccxt.pro p50",
        get("okxkc-async", "p50_us"),
        ccxt_p50,
        0.75,
        f"{ccxt_which or 'ccxt'} p50 (the faster ccxt loop)",
        "us",
    )
    target(
        "sync p50 <= 0.6x ccxt.pro p50",
        get("okxkc-sync", "p50_us"),
        ccxt_p50,
        0.6,
        f"{ccxt_which or 'ccxt'} p50 (the faster ccxt loop)",
        "us",
    )
    target(
        "engine-loop p50 <= 1.3x raw uvloop floor (1)",
        get("okxkc-engine", "p50_us"),
        get("floor-uvloop", "p50_us"),
        1.3,
        "floor-uvloop p50",
        "us",
    )
    target(
        "engine-loop p50 < Node okx-api p50",
        get("okxkc-engine", "p50_us"),
        get("node", "p50_us"),
        1.0,
        "node p50",
        "us",
        strict=True,
    )
    target(
        "async facade at 100 in flight >= 40% of raw floor throughput",
        get("okxkc-async", "", 100),
        get("floor-uvloop", "", 100),
        0.40,
        "floor-uvloop at 100 in flight",
        "orders/s",
        higher_is_better=True,
    )
    target(
        "engine-loop at 100 in flight >= 80% of raw floor throughput",
        get("okxkc-engine", "", 100),
        get("floor-uvloop", "", 100),
        0.80,
        "floor-uvloop at 100 in flight",
        "orders/s",
        higher_is_better=True,
    )
    target(
        "sync facade, 8 threads >= sync floor (2), 8 threads",
        get("okxkc-sync", "", 8),
        get("floor-thread-sync", "", 8),
        1.0,
        "floor-thread-sync, 8 threads",
        "orders/s",
        higher_is_better=True,
    )
    target(
        "cold start (sync) <= 2x sync floor's",
        get("okxkc-sync", "cold_ms"),
        get("floor-thread-sync", "cold_ms"),
        2.0,
        "floor-thread-sync cold start",
        "ms",
    )
    mem = res.get("memory") or {}
    phases = [(k, mem[k]) for k in ("engine", "async", "sync") if isinstance(mem.get(k), dict)]
    if phases:
        worst = max(phases, key=lambda kv: kv[1]["rss_growth"])
        pending = sum(p["pending_after"] for _, p in phases)
        growth_mb = worst[1]["rss_growth"] / 2**20
        ok = growth_mb < 5 and pending == 0
        out.append(
            {
                "target": f"memory growth over {mem['engine']['orders']:,} orders < 5 MB, "
                "pending map empty",
                "measured": growth_mb,
                "limit": 5.0,
                "unit": "MB",
                "detail": f"largest growth: {worst[0]} phase ({worst[1]['orders']:,} orders); "
                f"pending after: {pending}",
                "result": "pass" if ok else "miss",
            }
        )
    else:
        out.append(
            {"target": "memory growth < 5 MB", "result": "n/a", "detail": str(mem.get("error"))}
        )
    imp = res.get("imports") or {}
    target(
        "import okxkc <= 1.5x import aiohttp",
        (imp.get("okxkc") or {}).get("median_ms"),
        (imp.get("aiohttp") or {}).get("median_ms"),
        1.5,
        "import aiohttp",
        "ms",
    )
    for name, floor in (
        ("kucoin-okxkc-sync", "kucoin-floor-thread-sync"),
        ("kucoin-okxkc-async", "kucoin-floor-thread-async"),
    ):
        target(
            f"KuCoin {name.rsplit('-', 1)[1]} p50 <= 1.15x KuCoin floor ({floor.split('-', 2)[2]})",
            get(name, "p50_us"),
            get(floor, "p50_us"),
            1.15,
            f"{floor} p50",
            "us",
        )
    return out


# -- report ---------------------------------------------------------------------------------


def _f(v: float | None, digits: int = 0) -> str:
    if v is None:
        return "—"
    return f"{v:,.{digits}f}"


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or not b:
        return "—"
    return f"{a / b:.2f}×"


def markdown(res: dict[str, Any]) -> str:
    c = res["clients"]
    meta = res["meta"]
    lines: list[str] = []
    add = lines.append
    plan = meta["plan"]
    add(
        f"okxkc benchmarks ({meta['mode']}): {meta['started']}, {meta['seconds']:.0f}s, "
        f"Python {meta['python']}, {meta['cpus']} CPUs, git {meta['git']}, "
        f"load average {meta['loadavg_start']} -> {meta['loadavg_end']}"
    )
    pin = meta.get("cpu_pinning")
    where = (
        f"server pinned to CPU {pin['server']}, clients to CPU {pin['clients']}"
        if pin
        else "no CPU pinning"
    )
    add(
        f"Order: {meta['order']}. Server: okxkc simulators, one process, "
        f"{meta['server_loop']}; {where}."
    )
    add("")
    kucoin = any(e["exchange"] == "kucoin" for e in c.values())
    add(
        f"### Sequential round trip (one order in flight; {plan['orders']:,} orders per round"
        + (f", KuCoin {plan['kucoin_orders']:,}" if kucoin else "")
        + f"; median of {plan['rounds']} round(s))"
    )
    add("")
    add(
        "| client | p50 µs | p99 µs | CPU µs/order | p50 × its floor | p99 × its floor "
        "| CPU × its floor | p50 × raw floor |"
    )
    add("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, e in c.items():
        floor = c.get(FLOOR_OF.get(name, ""))
        raw = RAW_FLOOR[e["exchange"]]
        rawr = _ratio(e["p50_us"], c[raw]["p50_us"]) if raw in c and name != raw else ""
        own = [
            _ratio(e[k], floor[k]) if floor else ""
            for k in ("p50_us", "p99_us", "cpu_us_per_order")
        ]
        err = " ⚠ " + "; ".join(e["errors"]) if e["errors"] else ""
        add(
            f"| {e['label']} (`{name}`){err} | {_f(e['p50_us'])} | {_f(e['p99_us'])} | "
            f"{_f(e['cpu_us_per_order'])} | {own[0]} | {own[1]} | {own[2]} | {rawr} |"
        )
    for name, why in res["skipped"].items():
        add(f"| {CLIENTS[name][0]} (`{name}`) | skipped: {why} | | | | | | |")
    add("")
    add("Its floor: okxkc sync -> floor (2), async -> floor (2b), engine-loop -> floor (1) uvloop.")
    add("")
    add("### Cold start (construct -> first order acknowledged, fresh process; median)")
    add("")
    add("| client | median ms | processes | × its floor |")
    add("|---|---:|---:|---:|")
    for name, e in c.items():
        floor = c.get(FLOOR_OF.get(name, ""))
        ratio = _ratio(e["cold_ms"], floor["cold_ms"]) if floor else ""
        add(f"| `{name}` | {_f(e['cold_ms'], 1)} | {e['cold_samples']} | {ratio} |")
    add("")
    raw = c.get("floor-uvloop")
    for kind, title in (
        (("async", "in flight"), ("sync", "threads")) if plan.get("throughput", True) else ()
    ):
        levels = plan["async_levels"] if kind == "async" else plan["sync_levels"]
        ref = raw if kind == "async" else c.get("floor-thread-sync")
        ref_name = "raw uvloop floor" if kind == "async" else "sync floor (2)"
        add(f"### Pipelined throughput, {kind} (orders/s; {title}; median of rounds)")
        add("")
        add("| client | " + " | ".join(f"{lv} {title}" for lv in levels) + " |")
        add("|---|" + "---:|" * len(levels))
        for name, e in c.items():
            if e["kind"] != kind or e["exchange"] != "okx":
                continue
            tp = e["throughput"]
            cells = []
            for lv in levels:
                v = tp.get(str(lv))
                cell = _f(v)
                if name.startswith("okxkc") and ref is not None:
                    cell += f" ({_ratio(v, ref['throughput'].get(str(lv)))})"
                cells.append(cell)
            add(f"| `{name}` | " + " | ".join(cells) + " |")
        add("")
        add(f"okxkc cells: (× {ref_name} at the same level).")
        add("")
        add(f"CPU µs per order of the client process while pipelined ({kind}):")
        add("")
        add("| client | " + " | ".join(f"{lv} {title}" for lv in levels) + " |")
        add("|---|" + "---:|" * len(levels))
        for name, e in c.items():
            if e["kind"] == kind and e["exchange"] == "okx":
                cpu = e["throughput_cpu_us"]
                add(f"| `{name}` | " + " | ".join(_f(cpu.get(str(lv))) for lv in levels) + " |")
        add("")
    mem = res.get("memory") or {}
    if mem.get("error") and not plan.get("memory", True):
        mem = {}
    add("### Memory growth of okxkc (after a warm-up; RSS and live Python objects)")
    add("")
    add(
        f"Engine-loop mode for {plan['memory_orders']:,} orders, then each facade for "
        f"{plan['memory_facade_orders']:,}, one process; each phase measured on its own."
    )
    add("")
    if mem.get("error"):
        add(f"memory run failed: {mem['error']}")
    else:
        add(
            "| phase | orders | orders/s | RSS before MB | RSS growth MB | objects growth | pending after |"
        )
        add("|---|---:|---:|---:|---:|---:|---:|")
        names = {
            "engine": "engine-loop mode, 100 in flight",
            "async": "async facade, caller's loop, 100 in flight",
            "sync": "sync facade, 8 threads",
        }
        for k, label in names.items():
            p = mem.get(k)
            if not p:
                continue
            add(
                f"| {label} | {p['orders']:,} | {_f(p['orders'] / p['seconds'])} | "
                f"{p['rss_before'] / 2**20:.1f} | {p['rss_growth'] / 2**20:+.2f} | "
                f"{p['objects_growth']:+,} | {p['pending_after']} |"
            )
    add("")
    imp = res["imports"]
    if imp:
        add(f"### Import time (fresh interpreters; median of {plan['import_runs']}, first dropped)")
        add("")
        add("| import | median ms | min ms | × import aiohttp |")
        add("|---|---:|---:|---:|")
        for m, v in imp.items():
            add(
                f"| `import {m}` | {_f(v['median_ms'], 1)} | {_f(v['min_ms'], 1)} | "
                f"{_ratio(v['median_ms'], imp['aiohttp']['median_ms'])} |"
            )
    else:
        add("### Import time: not measured")
    add("")
    results = [t["result"] for t in res["targets"]]
    add(
        f"### Targets ({results.count('pass')} pass, {results.count('miss')} miss, "
        f"{results.count('n/a')} n/a)"
    )
    add("")
    add("| target | measured | reference | limit | ratio | result |")
    add("|---|---:|---:|---:|---:|---|")
    for t in res["targets"]:
        if t["result"] == "n/a":
            add(f"| {t['target']} | | | | | n/a ({t.get('detail', '')}) |")
            continue
        unit = t.get("unit", "")
        digits = 2 if unit == "MB" else (1 if unit == "ms" else 0)
        ref = f"{_f(t['reference'], digits)} ({t['reference_name']})" if "reference" in t else ""
        ratio = f"{t['ratio']:.2f}×" if "ratio" in t else t.get("detail", "")
        mark = "**pass**" if t["result"] == "pass" else "**MISS**"
        add(
            f"| {t['target']} | {_f(t['measured'], digits)} {unit} | {ref} | "
            f"{_f(t['limit'], digits)} | {ratio} | {mark} |"
        )
    return "\n".join(lines)


def plot(res: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cdf = res["cdf"]
    fig, axes = plt.subplots(1, 2, figsize=(15, 6), gridspec_kw={"width_ratios": [3, 2]})
    for ax, exchange, title in (
        (axes[0], "okx", "OKX order: sequential round trip"),
        (axes[1], "kucoin", "KuCoin spot.order: sequential round trip"),
    ):
        for name, pts in cdf.items():
            if CLIENTS[name][1] != exchange or not pts:
                continue
            xs = [p[0] for p in pts]
            ys = [p[1] for p in pts]
            style = "--" if "floor" in name else "-"
            width = 2.2 if "okxkc" in name else 1.3
            ax.plot(xs, ys, style, linewidth=width, label=name)
        ax.set_xscale("log")
        ax.set_xlabel("round trip (µs, log scale)")
        ax.set_ylabel("fraction of orders")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.set_ylim(0, 1.0)
        ax.legend(fontsize=8, loc="lower right")
    meta = res["meta"]
    fig.suptitle(
        f"okxkc latency CDF ({meta['mode']} run {meta['started']}; dashed = bare floors)",
        fontsize=11,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="small counts, one round (< 1 min)")
    mode.add_argument(
        "--smoke", action="store_true", help="tiny counts, okxkc + floors only (the test)"
    )
    parser.add_argument("--rounds", type=int, help="rounds (default by mode)")
    parser.add_argument("--orders", type=int, help="sequential orders per round")
    parser.add_argument("--no-peers", action="store_true", help="skip ccxt and Node")
    parser.add_argument("--no-throughput", action="store_true", help="skip pipelined runs")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory run")
    parser.add_argument("--no-imports", action="store_true", help="skip import timing")
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="do not pin the server to the last CPU and the clients to the others",
    )
    parser.add_argument(
        "--clients", help="comma-separated subset of: " + ", ".join(CLIENTS), default=None
    )
    parser.add_argument(
        "--out", type=Path, default=HERE / "results", help="folder for latest.json and latency.png"
    )
    args = parser.parse_args(argv)
    name = "smoke" if args.smoke else "quick" if args.quick else "full"
    cfg = dict(MODES[name])
    if args.rounds:
        cfg["rounds"] = args.rounds
    if args.orders:
        cfg["orders"] = args.orders
    if args.no_peers:
        cfg["peers"] = False
    cfg["throughput"] = not args.no_throughput
    cfg["memory"] = not args.no_memory
    cfg["imports"] = not args.no_imports
    if args.clients:
        wanted = [s.strip() for s in args.clients.split(",") if s.strip()]
        unknown = [w for w in wanted if w not in CLIENTS]
        if unknown:
            parser.error(f"unknown client(s): {', '.join(unknown)}")
        cfg["clients"] = wanted
    global PIN
    PIN = Pinning(not args.no_pin)
    with tempfile.TemporaryDirectory(prefix="okxkc-bench-") as tmp:
        res = run_all(cfg, name, Path(tmp))
    text = markdown(res)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(json.dumps(res, indent=1))
    try:
        plot(res, args.out / "latency.png")
    except Exception as exc:  # a missing matplotlib must not lose the figures
        log(f"no plot: {exc!r}")
    log(f"wrote {args.out / 'latest.json'} and {args.out / 'latency.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Running a benchmark: the server, one fresh process per client, rounds, pinning.

``run_all(cfg)`` starts the simulator process, installs the peers the plan needs,
then runs every client once per round (each in a fresh process, one after another,
so drift on the machine hits every client alike), the extra cold starts, okxkc's
memory run and the import timings. It returns the *raw* results: every process's
output, latency samples included. ``report.py`` turns them into the summary.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import peers
from catalog import CLIENTS, HERE, KUCOIN_OPS, ROOT, order_text


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def loadavg() -> float | None:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except OSError:
        return None


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

    @staticmethod
    def _preexec(cpus: set[int] | None) -> Callable[[], None] | None:
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


class Server:
    """The one simulator process (OKX and KuCoin on one uvloop loop)."""

    def __init__(self, workdir: Path, pin: Pinning) -> None:
        ready = workdir / "server.json"
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "_server.py"), str(ready)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=pin.server_preexec(),
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


class Runner:
    """Runs one client process with a plan and reads back its result."""

    def __init__(self, server: Server, cfg: dict[str, Any], workdir: Path, pin: Pinning) -> None:
        self.server = server
        self.cfg = cfg
        self.workdir = workdir
        self.pin = pin
        self.commands: dict[str, peers.Command] = {}
        self.n = 0

    def plan(self, name: str, **overrides: Any) -> dict[str, Any]:
        cfg = self.cfg
        client = CLIENTS.get(name)
        exchange, kind = (client.exchange, client.kind) if client else ("okx", "async")
        info = self.server.info
        plan: dict[str, Any] = {
            "okx_port": info["okx_port"],
            "kucoin_port": info["kucoin_port"],
            "inst_id_code": info["inst_id_code"],
            "instrument": info["instrument"],
            "kucoin_op": cfg["kucoin_op"],
            "warmup": cfg["warmup"],
        }
        if exchange == "kucoin":
            plan["orders"] = cfg["kucoin_orders"]
        else:
            plan["orders"] = cfg["orders"]
            levels = cfg["async_levels"] if kind == "async" else cfg["sync_levels"]
            plan["levels"] = levels if cfg["throughput"] else []
            plan["level_orders"] = cfg["level_orders"]
            plan["level_seconds"] = cfg["level_seconds"]
        plan.update(overrides)
        return plan

    def run(self, name: str, plan: dict[str, Any]) -> dict[str, Any]:
        """Run one client process; its result, or ``{"error": ...}``."""
        client = CLIENTS.get(name)
        if client is None or client.runner == "py":
            cmd, env = [sys.executable, str(HERE / "clients.py")], None
        else:
            cmd, env = self.commands[client.runner]
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
                preexec_fn=self.pin.client_preexec(),
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


def measure_imports(runs: int, pin: Pinning) -> dict[str, Any]:
    """``import X`` wall time in fresh interpreters: first run dropped, the rest kept."""
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
                preexec_fn=pin.client_preexec(),
            )
            if proc.returncode == 0 and i > 0:
                samples[m].append(float(proc.stdout.strip()) * 1000)
    return {m: {"samples_ms": v} for m, v in samples.items()}


def okxkc_has(method: str) -> bool:
    """Whether okxkc's KuCoin client (as this environment imports it) has ``method``."""
    code = f"import okxkc.kucoin as k; print(hasattr(k.WebsocketAPIClient, {method!r}))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    return proc.stdout.strip() == "True"


def resolve_kucoin_op(wanted: str) -> str:
    """``auto``: okxkc's UTA call when it has one, else its ``spot.order`` call."""
    if wanted != "auto":
        return wanted
    return "uta" if okxkc_has(KUCOIN_OPS["uta"][1]) else "spot"


def run_all(cfg: dict[str, Any], mode: str, workdir: Path, pin: Pinning) -> dict[str, Any]:
    names = [n for n in cfg["clients"] if cfg["peers"] or CLIENTS[n].runner == "py"]
    started = time.time()
    load_start = loadavg()
    log(f"{mode} run: {len(names)} clients x {cfg['rounds']} round(s); load average {load_start}")
    imports: dict[str, Any] = {}
    if cfg["imports"]:
        log("import times ...")
        imports = measure_imports(cfg["import_runs"], pin)
    server = Server(workdir, pin)
    runner = Runner(server, cfg, workdir, pin)
    skipped: dict[str, str] = {}
    rounds: dict[str, list[dict[str, Any]]] = {}
    memory: dict[str, Any] = {"error": "not measured (--no-memory)"}
    try:
        wanted = {CLIENTS[n].runner for n in names} - {"py"}
        runner.commands, failed = peers.setup(wanted, cfg["cache"])
        skipped = {n: failed[CLIENTS[n].runner] for n in names if CLIENTS[n].runner in failed}
        active = [n for n in names if n not in skipped]
        rounds = {n: [] for n in active}
        for r in range(cfg["rounds"]):
            for name in active:
                log(f"round {r + 1}/{cfg['rounds']}: {name} ...")
                rounds[name].append(_one_round(runner, name))
        # Extra cold starts: construct -> first order in a fresh process, nothing else.
        for _ in range(cfg["cold_extra"]):
            for name in active:
                if CLIENTS[name].exchange == "okx":
                    res = runner.run(name, runner.plan(name, warmup=0, orders=0, levels=[]))
                    if "cold_s" in res:
                        rounds[name].append({"cold_s": res["cold_s"], "cold_only": True})
        if cfg["memory"]:
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
                    memory_settle=cfg["memory_settle"],
                    in_flight=100,
                    threads=8,
                ),
            )
    finally:
        server.stop()
    return {
        "meta": {
            "mode": mode,
            "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
            "seconds": round(time.time() - started, 1),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "machine": platform.machine(),
            "cpu_model": _cpu_model(),
            "cpus": os.cpu_count(),
            "loadavg_start": load_start,
            "loadavg_end": loadavg(),
            "server_loop": server.info.get("loop"),
            "cpu_pinning": pin.describe(),
            "git": _git(),
            "versions": _py_versions(),
            "plan": {k: v for k, v in cfg.items() if k not in ("clients", "cache")},
            "order": order_text(cfg["kucoin_op"]),
        },
        "skipped": skipped,
        "rounds": rounds,
        "memory": memory,
        "imports": imports,
    }


def _one_round(runner: Runner, name: str) -> dict[str, Any]:
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
    return res


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


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

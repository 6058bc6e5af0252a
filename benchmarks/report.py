"""The benchmark report: the compact summary, the tables, the plot, the README table.

    python benchmarks/report.py [SUMMARY_JSON]   # print the tables of a saved summary

``summarize(raw)`` turns the runner's raw results (every process's output, samples
included) into the summary that is committed: per client the medians over rounds of
p50/p90/p99/p99.9, CPU per order, cold start and pipelined throughput, a few
latency quantiles of all samples pooled (for the plot), the run's commit, date and
machine, and the targets. Everything printed is rendered from the summary alone, so
a committed summary reproduces its tables (``report.py``) and its plot.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import targets
from catalog import CLIENTS, FLOOR_OF, HERE, RAW_FLOOR

# Quantiles of the pooled samples kept per client for the latency plot.
CDF_QUANTILES = (
    [0.0, 0.001, 0.01, 0.02, 0.05]
    + [i / 20 for i in range(2, 19)]
    + [0.95, 0.98, 0.99, 0.995, 0.999, 0.9999, 1.0]
)


def pct(sorted_samples: Sequence[float], q: float) -> float:
    if not sorted_samples:
        return float("nan")
    k = min(len(sorted_samples) - 1, max(0, round(q * (len(sorted_samples) - 1))))
    return sorted_samples[k]


def med(values: Sequence[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def _round(v: float | None, digits: int = 1) -> float | None:
    return None if v is None else round(v, digits)


def summarize(raw: dict[str, Any]) -> dict[str, Any]:
    plan = raw["meta"]["plan"]
    clients: dict[str, Any] = {}
    for name, rs in raw["rounds"].items():
        c = CLIENTS[name]
        timed = [x for x in rs if not x.get("cold_only")]
        per_round = [sorted(x["latency_us"]) for x in timed if x.get("latency_us")]
        pooled = sorted(v for s in per_round for v in s)
        levels = plan["async_levels"] if c.kind == "async" else plan["sync_levels"]
        levels = levels if c.exchange == "okx" and plan["throughput"] else []
        entry: dict[str, Any] = {"label": c.label, "exchange": c.exchange, "kind": c.kind}
        for key, q in (("p50_us", 0.5), ("p90_us", 0.9), ("p99_us", 0.99), ("p999_us", 0.999)):
            entry[key] = _round(med([pct(s, q) for s in per_round]))
        entry.update(
            p50_rounds=[_round(pct(s, 0.5)) for s in per_round],
            samples=len(pooled),
            cpu_us_per_order=_round(med([x.get("cpu_us_per_order") for x in timed])),
            cold_ms=_round(med([x["cold_s"] * 1000 for x in rs if "cold_s" in x]), 2),
            cold_samples=len([x for x in rs if "cold_s" in x]),
            throughput={
                str(lv): _round(med([(x.get("throughput") or {}).get(str(lv)) for x in timed]), 0)
                for lv in levels
            },
            throughput_cpu_us={
                str(lv): _round(
                    med([(x.get("throughput_cpu_us") or {}).get(str(lv)) for x in timed])
                )
                for lv in levels
            },
            errors=sorted({x["error"] for x in rs if x.get("error")}),
            cdf=[[_round(pct(pooled, q), 1), q] for q in CDF_QUANTILES] if pooled else [],
        )
        if any("pending_after" in x for x in timed):
            entry["pending_after"] = [x.get("pending_after") for x in timed]
        version = next((x["version"] for x in rs if x.get("version")), None)
        if version:
            entry["version"] = version
        clients[name] = entry
    meta = dict(raw["meta"])
    versions = dict(meta.get("versions") or {})
    for name, peer in (
        ("ccxt-asyncio", "ccxt"),
        ("node", "okx-api"),
        ("kucoin-sdk", "kucoin-universal-sdk"),
    ):
        if clients.get(name, {}).get("version"):
            versions[peer] = clients[name]["version"]
    node_rounds = raw["rounds"].get("node") or []
    node = next((x["node"] for x in node_rounds if x.get("node")), None)
    if node:
        versions["node"] = node
    meta["versions"] = versions
    imports = {
        m: {
            "median_ms": _round(med(v["samples_ms"]), 2),
            "min_ms": _round(min(v["samples_ms"]), 2) if v["samples_ms"] else None,
            "runs": len(v["samples_ms"]),
        }
        for m, v in (raw.get("imports") or {}).items()
    }
    summary = {
        "meta": meta,
        "skipped": raw["skipped"],
        "clients": clients,
        "memory": raw["memory"],
        "imports": imports,
    }
    summary["targets"] = targets.evaluate(summary)
    return summary


def dumps(summary: dict[str, Any]) -> str:
    """The summary as JSON, one key per line but each list of numbers on one line."""
    text = json.dumps(summary, indent=1, ensure_ascii=False)
    flat = re.compile(r"\[\s+([^\[\]{}\"]*?)\s+\]")
    return flat.sub(lambda m: "[" + re.sub(r"\s+", " ", m.group(1)) + "]", text) + "\n"


# -- tables ---------------------------------------------------------------------------------


def _f(v: float | None, digits: int = 0) -> str:
    if v is None:
        return "—"
    return f"{v:,.{digits}f}"


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or not b:
        return "—"
    return f"{a / b:.2f}×"


def markdown(s: dict[str, Any]) -> str:
    c = s["clients"]
    meta = s["meta"]
    plan = meta["plan"]
    lines: list[str] = []
    add = lines.append
    add(
        f"okxkc benchmarks ({meta['mode']}): {meta['started']}, {meta['seconds']:.0f}s, "
        f"Python {meta['python']}, {meta['cpus']} CPUs"
        + (f" ({meta['cpu_model']})" if meta.get("cpu_model") else "")
        + ", "
        f"git {meta['git']}, load average {meta['loadavg_start']} -> {meta['loadavg_end']}"
    )
    add("")
    pin = meta.get("cpu_pinning")
    where = (
        f"server pinned to CPU {pin['server']}, clients to CPU {pin['clients']}"
        if pin
        else "no CPU pinning"
    )
    add(
        f"Order: {meta['order']}. Server: okxkc simulators, one process, {meta['server_loop']}; {where}."
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
    for name, why in s["skipped"].items():
        add(f"| {CLIENTS[name].label} (`{name}`) | skipped: {why} | | | | | | |")
    add("")
    add(
        "Its floor: okxkc blocking -> floor (2), awaitable -> floor (2b), engine-loop -> floor (1) uvloop."
    )
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
    if plan["throughput"]:
        for kind, title in (("async", "in flight"), ("sync", "threads")):
            _throughput(lines, c, plan, kind, title)
    _memory(lines, s.get("memory") or {}, plan)
    _imports(lines, s["imports"], plan)
    _targets(lines, s["targets"])
    return "\n".join(lines)


def _throughput(
    lines: list[str], c: dict[str, Any], plan: dict[str, Any], kind: str, title: str
) -> None:
    add = lines.append
    levels = plan["async_levels"] if kind == "async" else plan["sync_levels"]
    ref = c.get("floor-uvloop" if kind == "async" else "floor-thread-sync")
    ref_name = "raw uvloop floor" if kind == "async" else "blocking floor (2)"
    rows = [(n, e) for n, e in c.items() if e["kind"] == kind and e["exchange"] == "okx"]
    if not rows:
        return
    head = "| client | " + " | ".join(f"{lv} {title}" for lv in levels) + " |"
    add(f"### Pipelined throughput, {kind} (orders/s; {title}; median of rounds)")
    add("")
    add(head)
    add("|---|" + "---:|" * len(levels))
    for name, e in rows:
        cells = []
        for lv in levels:
            v = e["throughput"].get(str(lv))
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
    add(head)
    add("|---|" + "---:|" * len(levels))
    for name, e in rows:
        cpu = e["throughput_cpu_us"]
        add(f"| `{name}` | " + " | ".join(_f(cpu.get(str(lv))) for lv in levels) + " |")
    add("")


def _memory(lines: list[str], mem: dict[str, Any], plan: dict[str, Any]) -> None:
    add = lines.append
    if not plan["memory"]:
        return
    add("### Memory growth of okxkc (after a warm-up; RSS and live Python objects)")
    add("")
    add(
        f"Engine-loop mode for {plan['memory_orders']:,} orders, then each facade for "
        f"{plan['memory_facade_orders']:,}, one process; each phase measured on its own."
    )
    add("")
    if mem.get("error"):
        add(f"memory run failed: {mem['error']}")
        add("")
        return
    add(
        "| phase | orders | orders/s | RSS before MB | RSS growth MB | objects growth | pending after |"
    )
    add("|---|---:|---:|---:|---:|---:|---:|")
    names = {
        "engine": "engine-loop mode, 100 in flight",
        "async": "awaitable facade, caller's loop, 100 in flight",
        "sync": "blocking facade, 8 threads",
    }
    for k, label in names.items():
        p = mem.get(k)
        if p:
            add(
                f"| {label} | {p['orders']:,} | {_f(p['orders'] / p['seconds'])} | "
                f"{p['rss_before'] / 2**20:.1f} | {p['rss_growth'] / 2**20:+.2f} | "
                f"{p['objects_growth']:+,} | {p['pending_after']} |"
            )
    add("")


def _imports(lines: list[str], imp: dict[str, Any], plan: dict[str, Any]) -> None:
    add = lines.append
    if not imp:
        return
    add(f"### Import time (fresh interpreters; median of {plan['import_runs']}, first dropped)")
    add("")
    add("| import | median ms | min ms | × import aiohttp |")
    add("|---|---:|---:|---:|")
    base = (imp.get("aiohttp") or {}).get("median_ms")
    for m, v in imp.items():
        add(
            f"| `import {m}` | {_f(v['median_ms'], 1)} | {_f(v['min_ms'], 1)} | "
            f"{_ratio(v['median_ms'], base)} |"
        )
    add("")


def _targets(lines: list[str], rows: list[dict[str, Any]]) -> None:
    add = lines.append
    results = [t["result"] for t in rows]
    add(
        f"### Targets ({results.count('pass')} pass, {results.count('miss')} miss, {results.count('n/a')} n/a)"
    )
    add("")
    add("| target | measured | reference | limit | ratio | result |")
    add("|---|---:|---:|---:|---:|---|")
    for t in rows:
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


README_ROWS = [
    ("floor-uvloop", "bare aiohttp + msgspec, own uvloop loop (raw floor)", "100"),
    ("floor-thread-sync", "bare, on a loop thread, blocking call (blocking floor)", "8"),
    (
        "floor-thread-async",
        "bare, on a loop thread, awaited from your loop (awaitable floor)",
        "100",
    ),
    ("okxkc-sync", "**okxkc** blocking (`WebsocketAPIClient`)", "8"),
    ("okxkc-async", "**okxkc** awaitable from your own loop", "100"),
    ("okxkc-engine", "**okxkc** engine-loop mode (`okxkc.run`)", "100"),
    ("ccxt-uvloop", "ccxt.pro okx `create_order_ws` (uvloop)", "100"),
    ("node", "Node `okx-api` `WebsocketAPIClient`", "100"),
]


def readme_table(s: dict[str, Any]) -> str:
    """The README's Performance table (OKX), and the KuCoin line under it."""
    c = s["clients"]
    lines = [
        "| client | p50 µs | p99 µs | CPU µs/order | vs its floor | orders/s, 100 in flight (8 threads) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, label, level in README_ROWS:
        e = c.get(name)
        if e is None:
            continue
        floor = c.get(FLOOR_OF.get(name, ""))
        vs = _ratio(e["p50_us"], floor["p50_us"]) if floor else ""
        lines.append(
            f"| {label} | {_f(e['p50_us'])} | {_f(e['p99_us'])} | {_f(e['cpu_us_per_order'])} | "
            f"{vs} | {_f(e['throughput'].get(level))} |"
        )
    kc = [
        f"{word} {_f(c[f'kucoin-okxkc-{m}']['p50_us'])} µs"
        for m, word in (("sync", "blocking"), ("async", "awaitable"), ("engine", "engine-loop"))
        if f"kucoin-okxkc-{m}" in c
    ]
    sdk = c.get("kucoin-sdk")
    if kc:
        line = "KuCoin p50: okxkc " + ", ".join(kc)
        if sdk:
            line += f"; the official kucoin-universal-sdk {_f(sdk['p50_us'])} µs"
        lines += ["", line + "."]
    return "\n".join(lines)


# -- the plot -------------------------------------------------------------------------------


def plot(s: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(15, 6), gridspec_kw={"width_ratios": [3, 2]})
    for ax, exchange, title in (
        (axes[0], "okx", "OKX order: sequential round trip"),
        (axes[1], "kucoin", "KuCoin order: sequential round trip"),
    ):
        for name, e in s["clients"].items():
            if e["exchange"] != exchange or not e["cdf"]:
                continue
            xs = [p[0] for p in e["cdf"]]
            ys = [p[1] for p in e["cdf"]]
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
    meta = s["meta"]
    fig.suptitle(
        f"okxkc latency CDF ({meta['mode']} run {meta['started']}, git {meta['git']}; "
        "dashed = bare floors)",
        fontsize=11,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    path = Path(args[0]) if args else HERE / "results" / "summary.json"
    summary = json.loads(path.read_text())
    print(markdown(summary))
    print("\n### README table\n")
    print(readme_table(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())

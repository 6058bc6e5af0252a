"""The benchmark's targets, evaluated on a summary: every ratio within one run.

Each row compares an okxkc figure with a reference of the same run (a bare floor or
a peer) and says pass, miss, or n/a (the reference was not measured).
"""

from __future__ import annotations

from typing import Any

from catalog import OKXKC_MODES


def evaluate(summary: dict[str, Any]) -> list[dict[str, Any]]:
    c = summary["clients"]
    out: list[dict[str, Any]] = []

    def get(name: str, key: str, level: int | None = None) -> float | None:
        entry = c.get(name)
        if entry is None:
            return None
        if level is not None:
            v: float | None = entry["throughput"].get(str(level))
            return v
        return entry.get(key)

    def target(
        what: str,
        measured: float | None,
        reference: float | None,
        factor: float,
        ref_name: str,
        unit: str,
        higher_is_better: bool = False,
    ) -> None:
        if measured is None or reference is None:
            missing = ref_name if reference is None else "okxkc's figure"
            out.append({"target": what, "result": "n/a", "detail": f"{missing} not measured"})
            return
        limit = reference * factor
        ok = measured >= limit if higher_is_better else measured <= limit
        out.append(
            {
                "target": what,
                "measured": measured,
                "reference": reference,
                "reference_name": ref_name,
                "limit": limit,
                "ratio": measured / reference if reference else float("inf"),
                "unit": unit,
                "result": "pass" if ok else "miss",
            }
        )

    p50 = "p50_us"
    # The blocking and awaitable facades against the bare design they stand on.
    target(
        "blocking p50 <= 1.15x bare loop-thread floor (2)",
        get("okxkc-sync", p50),
        get("floor-thread-sync", p50),
        1.15,
        "floor-thread-sync p50",
        "us",
    )
    target(
        "awaitable p50 <= 1.15x bare wrap_future floor (2b)",
        get("okxkc-async", p50),
        get("floor-thread-async", p50),
        1.15,
        "floor-thread-async p50",
        "us",
    )
    target(
        "blocking, 8 threads >= bare floor (2), 8 threads",
        get("okxkc-sync", "", 8),
        get("floor-thread-sync", "", 8),
        1.0,
        "floor-thread-sync, 8 threads",
        "orders/s",
        higher_is_better=True,
    )
    target(
        "awaitable at 100 in flight >= 40% of bare uvloop floor",
        get("okxkc-async", "", 100),
        get("floor-uvloop", "", 100),
        0.40,
        "floor-uvloop at 100 in flight",
        "orders/s",
        higher_is_better=True,
    )
    # Engine-loop mode against a bare client on its own uvloop loop.
    target(
        "engine-loop p50 <= 1.25x bare uvloop floor (1)",
        get("okxkc-engine", p50),
        get("floor-uvloop", p50),
        1.25,
        "floor-uvloop p50",
        "us",
    )
    target(
        "engine-loop client CPU per order <= 1.5x bare uvloop floor's",
        get("okxkc-engine", "cpu_us_per_order"),
        get("floor-uvloop", "cpu_us_per_order"),
        1.5,
        "floor-uvloop CPU µs/order",
        "us",
    )
    target(
        "engine-loop at 100 in flight >= 70% of bare uvloop floor",
        get("okxkc-engine", "", 100),
        get("floor-uvloop", "", 100),
        0.70,
        "floor-uvloop at 100 in flight",
        "orders/s",
        higher_is_better=True,
    )
    # Peers.
    target(
        "engine-loop p50 <= 0.85x Node okx-api",
        get("okxkc-engine", p50),
        get("node", p50),
        0.85,
        "node p50",
        "us",
    )
    ccxt = [n for n in ("ccxt-asyncio", "ccxt-uvloop") if get(n, p50) is not None]
    fastest = min(ccxt, key=lambda n: get(n, p50) or 0) if ccxt else None
    ccxt_p50 = get(fastest, p50) if fastest else None
    ccxt_name = f"{fastest or 'ccxt'} p50 (the faster ccxt loop)"
    target(
        "awaitable p50 <= 0.75x ccxt.pro", get("okxkc-async", p50), ccxt_p50, 0.75, ccxt_name, "us"
    )
    target("blocking p50 <= 0.6x ccxt.pro", get("okxkc-sync", p50), ccxt_p50, 0.6, ccxt_name, "us")
    # KuCoin: each okxkc mode against its bare floor and against the official SDK.
    for mode in ("sync", "async"):
        floor = f"kucoin-floor-thread-{mode}"
        target(
            f"KuCoin {OKXKC_MODES[mode]} p50 <= 1.15x KuCoin floor ({floor[7:]})",
            get(f"kucoin-okxkc-{mode}", p50),
            get(floor, p50),
            1.15,
            f"{floor} p50",
            "us",
        )
    for mode, word in OKXKC_MODES.items():
        target(
            f"KuCoin {word} p50 <= 0.5x kucoin-universal-sdk",
            get(f"kucoin-okxkc-{mode}", p50),
            get("kucoin-sdk", p50),
            0.5,
            "kucoin-sdk p50",
            "us",
        )
    # Start-up, memory, import.
    target(
        "cold start (blocking) <= 2x bare floor (2)'s",
        get("okxkc-sync", "cold_ms"),
        get("floor-thread-sync", "cold_ms"),
        2.0,
        "floor-thread-sync cold start",
        "ms",
    )
    out.append(_memory(summary.get("memory") or {}))
    imp = summary.get("imports") or {}
    target(
        "import okxkc <= 1.5x import aiohttp",
        (imp.get("okxkc") or {}).get("median_ms"),
        (imp.get("aiohttp") or {}).get("median_ms"),
        1.5,
        "import aiohttp",
        "ms",
    )
    return out


def _memory(mem: dict[str, Any]) -> dict[str, Any]:
    phases = [(k, mem[k]) for k in ("engine", "async", "sync") if isinstance(mem.get(k), dict)]
    if not phases:
        return {"target": "memory growth < 5 MB", "result": "n/a", "detail": str(mem.get("error"))}
    worst = max(phases, key=lambda kv: kv[1]["rss_growth"])
    pending = sum(p["pending_after"] for _, p in phases)
    growth_mb = worst[1]["rss_growth"] / 2**20
    return {
        "target": f"memory growth over {max(p['orders'] for _, p in phases):,} orders < 5 MB, "
        "pending map empty",
        "measured": growth_mb,
        "limit": 5.0,
        "unit": "MB",
        "detail": f"largest growth: {worst[0]} phase ({worst[1]['orders']:,} orders); "
        f"pending after: {pending}",
        "result": "pass" if growth_mb < 5 and pending == 0 else "miss",
    }

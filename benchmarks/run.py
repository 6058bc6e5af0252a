"""okxkc benchmarks: order round trips against bare floors and peers, one run, one table.

    python benchmarks/run.py            # full run (about 15 minutes)
    python benchmarks/run.py --quick    # every client and figure, small counts (< 3 minutes)
    python benchmarks/run.py --smoke    # seconds: okxkc + floors, tiny counts (the test)

One server process (okxkc's simulated OKX and KuCoin, fast mode: no request log,
no rate limits; loopback; ``_server.py``), then each client in its own fresh
process, one after another, round after round (``runner.py``):

- floors, a bare aiohttp + msgspec client (``clients.py``): (1) on its own loop,
  stock asyncio and uvloop; (2) on a background loop thread called through
  ``run_coroutine_threadsafe(...).result()``; (2b) the same awaited from the
  caller's loop through ``wrap_future``;
- okxkc in its three modes: blocking, awaitable from the caller's own loop, and
  engine-loop mode (``okxkc.run``), on OKX and on KuCoin;
- peers, each installed into its own environment under the cache folder
  (``peers.py``): ccxt.pro okx, the Node SDK okx-api, and KuCoin's official
  kucoin-universal-sdk (``uta.order``). A peer that cannot be installed or run is
  reported with the reason.

Figures: sequential p50/p99 and client CPU per order, pipelined throughput (async
1/10/100/1000 in flight; blocking 1/8/32 threads), cold start, okxkc's memory
growth over many orders, ``import`` times; the targets as pass/miss (``targets.py``).

Writes the compact summary ``summary.json`` and the plot ``latency.png`` to
``--out`` (default ``benchmarks/results``), and the raw results (every sample) and
the printed report to ``--raw`` (default ``<cache>/results``, not committed).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers
import report
import runner
from catalog import CLIENTS, HERE, KUCOIN_OPS

ASYNC_LEVELS = [1, 10, 100, 1000]
SYNC_LEVELS = [1, 8, 32]

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
        "memory_settle": 2.1,
        "import_runs": 1,
        "peers": False,
        "clients": [n for n, c in CLIENTS.items() if c.runner == "py"],
    },
    "quick": {
        "rounds": 1,
        "orders": 2000,
        "warmup": 200,
        "level_orders": 3000,
        "level_seconds": 0.25,
        "async_levels": ASYNC_LEVELS,
        "sync_levels": SYNC_LEVELS,
        "kucoin_orders": 1000,
        "cold_extra": 0,
        "memory_orders": 50_000,
        "memory_facade_orders": 3000,
        "memory_settle": 1.1,
        "import_runs": 3,
        "peers": True,
        "clients": list(CLIENTS),
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
        "memory_settle": 2.1,
        "import_runs": 9,
        "peers": True,
        "clients": list(CLIENTS),
    },
}


def parse(argv: Sequence[str] | None) -> tuple[argparse.Namespace, str, dict[str, Any]]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="every figure, small counts (< 3 min)")
    mode.add_argument(
        "--smoke", action="store_true", help="tiny counts, okxkc + floors only (the test)"
    )
    parser.add_argument("--rounds", type=int, help="rounds (default by mode)")
    parser.add_argument("--orders", type=int, help="sequential orders per round")
    parser.add_argument("--no-peers", action="store_true", help="skip ccxt, Node, the KuCoin SDK")
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
        "--kucoin-op",
        choices=["auto", *KUCOIN_OPS],
        default="auto",
        help="the KuCoin order okxkc and the KuCoin floors send: spot (spot.order) or uta "
        "(uta.order); auto: uta when okxkc's KuCoin client has "
        f"{KUCOIN_OPS['uta'][1]}, else spot",
    )
    parser.add_argument(
        "--out", type=Path, default=HERE / "results", help="folder for summary.json and latency.png"
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=peers.default_cache(),
        help="folder for the peers' environments (default $OKXKC_BENCH_CACHE or benchmarks/.cache)",
    )
    parser.add_argument(
        "--raw", type=Path, help="folder for raw.json and report.md (default <cache>/results)"
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
    cfg["cache"] = args.cache.resolve()
    if args.clients:
        wanted = [s.strip() for s in args.clients.split(",") if s.strip()]
        unknown = [w for w in wanted if w not in CLIENTS]
        if unknown:
            parser.error(f"unknown client(s): {', '.join(unknown)}")
        cfg["clients"] = wanted
        cfg["peers"] = not args.no_peers  # peers named on the command line run in any mode
    return args, name, cfg


def main(argv: Sequence[str] | None = None) -> int:
    args, name, cfg = parse(argv)
    cfg["kucoin_op"] = runner.resolve_kucoin_op(args.kucoin_op)
    pin = runner.Pinning(not args.no_pin)
    with tempfile.TemporaryDirectory(prefix="okxkc-bench-") as tmp:
        raw = runner.run_all(cfg, name, Path(tmp), pin)
    summary = report.summarize(raw)
    text = report.markdown(summary) + "\n\n### README table\n\n" + report.readme_table(summary)
    print(text)
    raw_dir = args.raw or cfg["cache"] / "results"
    raw_dir.mkdir(parents=True, exist_ok=True)
    (raw_dir / "raw.json").write_text(json.dumps(raw))
    (raw_dir / "report.md").write_text(text + "\n")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(report.dumps(summary))
    try:
        report.plot(summary, args.out / "latency.png")
    except Exception as exc:  # a missing matplotlib must not lose the figures
        runner.log(f"no plot: {exc!r}")
    runner.log(f"wrote {args.out / 'summary.json'}, {args.out / 'latency.png'} and {raw_dir}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())

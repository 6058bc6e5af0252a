"""Sequential round trip only: okxkc (sync, async, engine-loop) against the bare floors.

    python benchmarks/roundtrip.py [--orders 3000] [--rounds 3]

A shortcut for ``run.py`` with no peers, no pipelined runs, no memory run and no
import timing; the table and the targets that need only these figures are
printed, and the summary goes to ``<cache>/results/roundtrip/`` (not committed). The full
harness is ``benchmarks/run.py``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run

CLIENTS = [
    "floor-uvloop",
    "floor-thread-sync",
    "floor-thread-async",
    "okxkc-sync",
    "okxkc-async",
    "okxkc-engine",
]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    out = run.peers.default_cache() / "results" / "roundtrip"
    return run.main(
        [
            "--quick",
            "--no-peers",
            "--no-throughput",
            "--no-memory",
            "--no-imports",
            "--clients",
            ",".join(CLIENTS),
            "--orders",
            str(args.orders),
            "--rounds",
            str(args.rounds),
            "--out",
            str(out),
            "--raw",
            str(out),
        ]
    )


if __name__ == "__main__":
    sys.exit(main())

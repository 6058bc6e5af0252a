"""The benchmark harness runs (a smoke test; figures are not asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "roundtrip.py"


def test_roundtrip_harness_runs() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--orders", "50", "--rounds", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "okxkc sync facade" in proc.stdout and "okxkc async facade" in proc.stdout

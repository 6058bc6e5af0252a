"""The peers: installing each into the benchmark's own cache and the command that runs it.

Every peer gets an environment of its own under the cache folder (``--cache``,
``OKXKC_BENCH_CACHE``, default ``benchmarks/.cache``), created on first use and never
touching the environment the benchmark runs from:

- ``ccxt``: ccxt.pro okx in ``ccxt-venv`` (``peer_ccxt.py``);
- ``node``: the Node SDK okx-api in ``node/node_modules`` (``peer_node.js``), when node
  and npm are on the machine;
- ``kucoin-sdk``: the official ``kucoin-universal-sdk`` in ``kucoin-sdk-venv``
  (``peer_kucoin_sdk.py``: its UTA trade socket, ``uta.order``).

A peer that cannot be installed is reported with the reason and its clients are skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from catalog import HERE

CCXT_VERSION = "4.5.90"
OKX_API_VERSION = "3.2.3"
KUCOIN_SDK_VERSION = "1.3.2"

# The command that runs one client process: argv prefix (the client name, plan and
# result file are appended) and the environment (None: inherit).
Command = tuple[list[str], dict[str, str] | None]


def default_cache() -> Path:
    return Path(os.environ.get("OKXKC_BENCH_CACHE") or HERE / ".cache")


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


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


def _venv(cache: Path, name: str, requirement: str) -> Path:
    """The python of venv ``name`` under ``cache`` with ``requirement`` installed (once)."""
    venv = cache / name
    py = venv / "bin" / "python"
    marker = venv / f".{requirement.replace('==', '-')}"
    if py.exists() and marker.exists():
        return py
    _log(f"installing {requirement} into {venv} (once) ...")
    cache.mkdir(parents=True, exist_ok=True)
    if not py.exists():
        _check([sys.executable, "-m", "venv", "--clear", str(venv)], f"creating {venv}", 300)
    pip = [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", requirement]
    _check(pip, f"pip install {requirement}", 900)
    marker.touch()
    return py


def ccxt(cache: Path) -> Command:
    py = _venv(cache, "ccxt-venv", f"ccxt=={CCXT_VERSION}")
    return [str(py), str(HERE / "peer_ccxt.py")], None


def kucoin_sdk(cache: Path) -> Command:
    py = _venv(cache, "kucoin-sdk-venv", f"kucoin-universal-sdk=={KUCOIN_SDK_VERSION}")
    return [str(py), str(HERE / "peer_kucoin_sdk.py")], None


def node(cache: Path) -> Command:
    exe = shutil.which("node")
    if exe is None:
        raise RuntimeError("node is not installed on this machine")
    where = cache / "node"
    modules = where / "node_modules"
    if not (modules / "okx-api" / "package.json").exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is not installed on this machine")
        _log(f"installing okx-api@{OKX_API_VERSION} into {where} (once) ...")
        where.mkdir(parents=True, exist_ok=True)
        pkg = where / "package.json"
        if not pkg.exists():
            pkg.write_text(json.dumps({"name": "okxkc-bench-peers", "private": True}))
        cmd = [npm, "install", "--no-audit", "--no-fund", f"okx-api@{OKX_API_VERSION}"]
        _check(cmd, "npm install okx-api", 900, cwd=where)
    return [exe, str(HERE / "peer_node.js")], {**os.environ, "NODE_PATH": str(modules)}


INSTALLERS = {"ccxt": ccxt, "node": node, "kucoin-sdk": kucoin_sdk}


def setup(runners: set[str], cache: Path) -> tuple[dict[str, Command], dict[str, str]]:
    """Install the given peers: (command per peer, reason per peer that failed)."""
    commands: dict[str, Command] = {}
    failed: dict[str, str] = {}
    for name in sorted(runners):
        try:
            commands[name] = INSTALLERS[name](cache)
        except RuntimeError as exc:
            _log(f"skipping {name}: {exc}")
            failed[name] = str(exc)
    return commands, failed

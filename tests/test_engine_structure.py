"""The engine's inner walls: every module imports on its own, no import cycle inside
okxkc, the engine imports no exchange package, a connection sees only its narrow
context, and a cut socket ends through public aiohttp API (or its fallback)."""

from __future__ import annotations

import ast
import asyncio
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from okxkc._engine.context import ConnectionContext
from okxkc._engine.loop import engine

from .conftest import make_kucoin, make_okx, wait_for

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "okxkc"
ENGINE_MODULES = sorted(p.stem for p in (PKG / "_engine").glob("*.py") if p.stem != "__init__")


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """okxkc modules imported at module level, ``if TYPE_CHECKING:`` blocks included
    (a cycle there is still two modules that need each other)."""
    tree = ast.parse(path.read_text())
    name = _module_name(path)
    package = name if path.stem == "__init__" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("okxkc"))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    mod = ".".join(base + ([node.module] if node.module else []))
                else:
                    mod = node.module or ""
                if not mod.startswith("okxkc"):
                    continue
                found.add(mod)
                for a in node.names:  # ``from . import events`` imports a module
                    if (
                        (PKG.parent / (mod + "." + a.name).replace(".", "/"))
                        .with_suffix(".py")
                        .exists()
                    ):
                        found.add(mod + "." + a.name)
            elif isinstance(node, (ast.If, ast.Try)):
                visit(node.body)
                visit(getattr(node, "orelse", []))
                for h in getattr(node, "handlers", []):
                    visit(h.body)

    visit(tree.body)
    return found


def _graph() -> dict[str, set[str]]:
    files = [p for p in PKG.rglob("*.py") if "testing" not in p.parts]
    names = {_module_name(p) for p in files}
    return {_module_name(p): {m for m in _imports(p) if m in names} for p in files}


def test_no_import_cycle_inside_okxkc() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def walk(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in graph.get(node, ()):
            if nxt == node or nxt.startswith(node + "."):
                continue  # a package importing its own submodule is no cycle
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt] if nxt in stack else [node, nxt])
            elif nxt not in state:
                walk(nxt, [*stack, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            walk(node, [node])
    assert cycles == []


def test_engine_imports_no_exchange_package_and_connection_not_the_core() -> None:
    graph = _graph()
    for mod, deps in graph.items():
        if mod.startswith("okxkc._engine"):
            assert not {d for d in deps if d.startswith(("okxkc.okx", "okxkc.kucoin"))}, mod
    for mod in ("connection", "dispatch", "handover", "handshake", "heartbeat", "sockets"):
        assert "okxkc._engine.core" not in graph[f"okxkc._engine.{mod}"], mod


@pytest.mark.parametrize("module", ENGINE_MODULES)
def test_each_engine_module_imports_alone(module: str) -> None:
    out = subprocess.run(
        [sys.executable, "-c", f"import okxkc._engine.{module}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr


def test_no_aiohttp_private_attributes_in_the_engine() -> None:
    # as an attribute (ws._writer) or by name (getattr(ws, "_writer"))
    private = re.compile(r"[.'\"]_(response|writer|reader|conn|transport)\b")
    for path in (PKG / "_engine").glob("*.py"):
        found = private.search(path.read_text())
        assert found is None, f"{path.name} uses {found and found.group(0)}"


async def test_a_connection_gets_only_its_context(facade_kind: str, okx_sim: Any) -> None:
    c = make_okx(facade_kind, okx_sim)
    await c.connect_ws_api(["private"])
    conn = c.client._core.connections[(0, "private")]
    assert isinstance(conn.ctx, ConnectionContext)
    assert not any(v is c.client._core for v in vars(conn).values())
    await c.close()


# -- cutting a socket: public API, and the fallback ------------------------------------------
@pytest.mark.parametrize("exchange", ["okx", "kucoin"])
@pytest.mark.parametrize("how", ["shutdown", "fallback"])
async def test_a_cut_socket_ends_and_the_client_reconnects(
    exchange: str, how: str, facade_kind: str, okx_sim: Any, kucoin_sim: Any
) -> None:
    if exchange == "okx":
        c = make_okx(facade_kind, okx_sim, reconnect_timeout=0.05)
        sim, key = okx_sim, "private"
    else:
        c = make_kucoin(facade_kind, kucoin_sim, reconnect_timeout=0.05)
        sim, key = kucoin_sim, "spot"
    await c.connect_ws_api([key])
    conn = c.client._core.connections[(0, key)]
    sock = conn._sock
    assert sock is not None
    if how == "fallback":
        # A transport that exposes no OS socket: the cut becomes a close handshake.
        sock.ws.get_extra_info = lambda name, default=None: None

    async def cut() -> None:
        conn._cut(sock)

    await asyncio.wrap_future(engine.submit(cut()))
    await wait_for(lambda: sock.ws.closed and conn._sock not in (None, sock), timeout=5)
    assert sim.stats["logins_ok"] == 2
    await c.close()


def test_only_a_refused_write_counts_as_not_sent() -> None:
    import aiohttp

    from okxkc._engine.connection import _not_written

    assert _not_written(aiohttp.ClientConnectionResetError("Cannot write to closing transport"))
    # lost while flushing: the frame may have left, so the outcome stays unknown
    assert not _not_written(aiohttp.ClientConnectionResetError("Connection lost"))
    assert not _not_written(OSError("broken pipe"))


def test_simulators_import_nothing_from_the_client() -> None:
    # The simulators sign, parse and frame on their own: a client bug must not be
    # mirrored by them. Only the pytest plugin (fixtures that build clients) may.
    for path in (PKG / "testing").rglob("*.py"):
        if path.name == "pytest_plugin.py":
            continue
        outside = {m for m in _imports(path) if not m.startswith("okxkc.testing")}
        assert outside == set(), path.relative_to(ROOT)


def test_adapters_do_no_io() -> None:
    for exchange in ("okx", "kucoin"):
        for name in ("adapter", "lookup", "models"):
            tree = ast.parse((PKG / exchange / f"{name}.py").read_text())
            imported = {
                a.name.split(".")[0]
                for n in ast.walk(tree)
                if isinstance(n, ast.Import)
                for a in n.names
            } | {
                (n.module or "").split(".")[0]
                for n in ast.walk(tree)
                if isinstance(n, ast.ImportFrom) and not n.level
            }
            assert not imported & {"aiohttp", "socket", "asyncio", "requests"}, (exchange, name)
